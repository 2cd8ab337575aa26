;; SIMD loops of the host kernels (batch-norm-kernels.ts, optimizer-kernels.ts)
;; for tfjs's wasm backend, run on its own memory: every pointer is a byte
;; offset into the heap, every count a multiple of 4 floats (the caller does
;; the tail). Accumulators are float64; element arithmetic is float32, as
;; tfjs's own kernels do it. scripts/build-simd-kernels.mjs assembles this
;; file (with the memory shared and unshared, matching tfjs's threaded and
;; single-threaded builds) into host-kernels-wasm.ts.
(module
  (import "env" "memory" (memory 1 65536 MEMORY_SHARED))

  ;; high two f32 lanes of v as f64x2
  (func $hi (param $v v128) (result v128)
    (f64x2.promote_low_f32x4
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))

  ;; acc[0..3] (f64 at $p) += v (f32x4)
  (func $acc (param $p i32) (param $v v128)
    (v128.store (local.get $p)
      (f64x2.add (v128.load (local.get $p)) (f64x2.promote_low_f32x4 (local.get $v))))
    (v128.store offset=16 (local.get $p)
      (f64x2.add (v128.load offset=16 (local.get $p)) (call $hi (local.get $v)))))

  ;; Σ x² over n floats at $x: four float64x2 sums, so consecutive adds do not wait on
  ;; each other (one sum measured 15.6 ms over ResNet18's 11 M gradients, latency-bound)
  (func (export "sumOfSquares") (param $x i32) (param $n i32) (result f64)
    (local $end i32) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $v v128) (local $u v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.gt_u (i32.add (local.get $x) (i32.const 32)) (local.get $end)))
        (local.set $v (v128.load (local.get $x)))
        (local.set $u (v128.load offset=16 (local.get $x)))
        (local.set $v (f32x4.mul (local.get $v) (local.get $v)))
        (local.set $u (f32x4.mul (local.get $u) (local.get $u)))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $s1 (f64x2.add (local.get $s1) (call $hi (local.get $v))))
        (local.set $s2 (f64x2.add (local.get $s2) (f64x2.promote_low_f32x4 (local.get $u))))
        (local.set $s3 (f64x2.add (local.get $s3) (call $hi (local.get $u))))
        (local.set $x (i32.add (local.get $x) (i32.const 32)))
        (br $pairs)))
    (if (i32.lt_u (local.get $x) (local.get $end))
      (then
        (local.set $v (v128.load (local.get $x)))
        (local.set $v (f32x4.mul (local.get $v) (local.get $v)))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $s1 (f64x2.add (local.get $s1) (call $hi (local.get $v))))))
    (local.set $s0 (f64x2.add (f64x2.add (local.get $s0) (local.get $s1)) (f64x2.add (local.get $s2) (local.get $s3))))
    (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))

  ;; AdamW over n floats: m' = β1·m + (1−β1)·g, v' = β2·v + (1−β2)·g²,
  ;; w' = decay·w − lrc·m' / (√(v'·ibc2) + ε) with lrc = lr/bc1, ibc2 = 1/bc2.
  (func (export "adamw")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32)
    (param $w1 i32) (param $m1 i32) (param $v1 i32) (param $n i32)
    (param $b1 f32) (param $b2 f32) (param $lrc f32) (param $ibc2 f32) (param $eps f32) (param $decay f32)
    (local $i i32) (local $end i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $B1 v128) (local $C1 v128) (local $B2 v128) (local $C2 v128)
    (local $LRC v128) (local $IBC2 v128) (local $EPS v128) (local $DECAY v128)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $C1 (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $C2 (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $LRC (f32x4.splat (local.get $lrc)))
    (local.set $IBC2 (f32x4.splat (local.get $ibc2)))
    (local.set $EPS (f32x4.splat (local.get $eps)))
    (local.set $DECAY (f32x4.splat (local.get $decay)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $mv (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $B1))
          (f32x4.mul (local.get $gv) (local.get $C1))))
        (local.set $vv (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $B2))
          (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $C2))))
        (v128.store (i32.add (local.get $m1) (local.get $i)) (local.get $mv))
        (v128.store (i32.add (local.get $v1) (local.get $i)) (local.get $vv))
        (v128.store (i32.add (local.get $w1) (local.get $i))
          (f32x4.sub
            (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $i))) (local.get $DECAY))
            (f32x4.div
              (f32x4.mul (local.get $mv) (local.get $LRC))
              (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $vv) (local.get $IBC2))) (local.get $EPS)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))

  ;; The channel walk shared by the batch-norm loops: $e runs over the
  ;; elements' byte offsets, $co over the channel's (wrapping at C·4 bytes).

  ;; Per-channel Σ x and Σ x² (f64 at $sum, $sq; zeroed by the caller), n = P·C floats.
  (func (export "bnMoments") (param $x i32) (param $n i32) (param $c4 i32) (param $sum i32) (param $sq i32)
    (local $e i32) (local $end i32) (local $co i32) (local $v v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $e) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $e))))
        (call $acc (i32.add (local.get $sum) (i32.shl (local.get $co) (i32.const 1))) (local.get $v))
        (call $acc (i32.add (local.get $sq) (i32.shl (local.get $co) (i32.const 1))) (f32x4.mul (local.get $v) (local.get $v)))
        (local.set $e (i32.add (local.get $e) (i32.const 16)))
        (local.set $co (i32.add (local.get $co) (i32.const 16)))
        (if (i32.eq (local.get $co) (local.get $c4)) (then (local.set $co (i32.const 0))))
        (br $next))))

  ;; y = x·scale + shift per channel (f32 at $scale, $shift), then max(y, 0) when $relu (NaN stays NaN).
  (func (export "bnNormalise") (param $x i32) (param $y i32) (param $n i32) (param $c4 i32) (param $scale i32) (param $shift i32) (param $relu i32)
    (local $e i32) (local $end i32) (local $co i32) (local $out v128) (local $floor v128)
    (local.set $floor (select (v128.const f32x4 0 0 0 0) (v128.const f32x4 -inf -inf -inf -inf) (local.get $relu)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $e) (local.get $end)))
        (local.set $out (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $e))) (v128.load (i32.add (local.get $scale) (local.get $co))))
          (v128.load (i32.add (local.get $shift) (local.get $co)))))
        (v128.store (i32.add (local.get $y) (local.get $e)) (f32x4.max (local.get $out) (local.get $floor)))
        (local.set $e (i32.add (local.get $e) (i32.const 16)))
        (local.set $co (i32.add (local.get $co) (i32.const 16)))
        (if (i32.eq (local.get $co) (local.get $c4)) (then (local.set $co (i32.const 0))))
        (br $next))))

  ;; dy where the forward's y > 0 (all of dy when not $relu)
  (func $masked (param $x v128) (param $dy v128) (param $s v128) (param $t v128) (param $keep v128) (result v128)
    (v128.and (local.get $dy)
      (v128.or (local.get $keep)
        (f32x4.gt (f32x4.add (f32x4.mul (local.get $x) (local.get $s)) (local.get $t)) (v128.const f32x4 0 0 0 0)))))

  ;; Per-channel Σ d and Σ d·x (f64 at $sd, $sdx; zeroed by the caller), d = masked dy.
  (func (export "bnGradSums") (param $x i32) (param $dy i32) (param $n i32) (param $c4 i32) (param $scale i32) (param $shift i32) (param $relu i32) (param $sd i32) (param $sdx i32)
    (local $e i32) (local $end i32) (local $co i32) (local $v v128) (local $d v128) (local $keep v128)
    (local.set $keep (select (v128.const i32x4 0 0 0 0) (v128.const i32x4 -1 -1 -1 -1) (local.get $relu)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $e) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $e))))
        (local.set $d (call $masked (local.get $v) (v128.load (i32.add (local.get $dy) (local.get $e)))
          (v128.load (i32.add (local.get $scale) (local.get $co))) (v128.load (i32.add (local.get $shift) (local.get $co))) (local.get $keep)))
        (call $acc (i32.add (local.get $sd) (i32.shl (local.get $co) (i32.const 1))) (local.get $d))
        (call $acc (i32.add (local.get $sdx) (i32.shl (local.get $co) (i32.const 1))) (f32x4.mul (local.get $d) (local.get $v)))
        (local.set $e (i32.add (local.get $e) (i32.const 16)))
        (local.set $co (i32.add (local.get $co) (i32.const 16)))
        (if (i32.eq (local.get $co) (local.get $c4)) (then (local.set $co (i32.const 0))))
        (br $next))))

  ;; dx = a·d − b·x + k per channel (f32 at $a, $b, $k), d = masked dy.
  (func (export "bnGradInput") (param $x i32) (param $dy i32) (param $dx i32) (param $n i32) (param $c4 i32) (param $scale i32) (param $shift i32) (param $relu i32) (param $a i32) (param $b i32) (param $k i32)
    (local $e i32) (local $end i32) (local $co i32) (local $v v128) (local $d v128) (local $keep v128)
    (local.set $keep (select (v128.const i32x4 0 0 0 0) (v128.const i32x4 -1 -1 -1 -1) (local.get $relu)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $e) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $e))))
        (local.set $d (call $masked (local.get $v) (v128.load (i32.add (local.get $dy) (local.get $e)))
          (v128.load (i32.add (local.get $scale) (local.get $co))) (v128.load (i32.add (local.get $shift) (local.get $co))) (local.get $keep)))
        (v128.store (i32.add (local.get $dx) (local.get $e))
          (f32x4.add
            (f32x4.sub
              (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $a) (local.get $co))))
              (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $b) (local.get $co)))))
            (v128.load (i32.add (local.get $k) (local.get $co)))))
        (local.set $e (i32.add (local.get $e) (i32.const 16)))
        (local.set $co (i32.add (local.get $co) (i32.const 16)))
        (if (i32.eq (local.get $co) (local.get $c4)) (then (local.set $co (i32.const 0))))
        (br $next))))
)
