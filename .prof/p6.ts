import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm');
const best = (f: () => void) => { f(); let m = Infinity; for (let i = 0; i < 7; i++) { const t = performance.now(); f(); m = Math.min(m, performance.now() - t); } return m; };
for (const [W, kc, N] of [[192, 320, 64], [768, 80, 256], [21, 320, 64]]) {
  for (const taps of [40, 20, 10, 8, 5, 4, 2]) {
    if (W === 768 && taps > 10) continue;
    const a = tf.randomNormal([1, taps + 2, W, kc]) as tf.Tensor4D; const w = tf.randomNormal([taps, 1, kc, N]) as tf.Tensor4D;
    const fl = 2 * 3 * W * taps * kc * N;
    const t = best(() => { const w2 = tf.clone(w); tf.conv2d(a, w2, 1, 'valid').dispose(); w2.dispose(); });
    console.log(`M ${3*W} taps ${taps} kc ${kc} N ${N}: ${(fl/t/1e6).toFixed(1)} GF/s (fresh filter)`);
    tf.dispose([a, w]);
  }
}
