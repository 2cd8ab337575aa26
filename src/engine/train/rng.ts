/**
 * A small seeded generator (mulberry32) whose whole state is one integer, so a
 * checkpoint can store it and a resumed run draws the same numbers.
 */
export class Rng {
  constructor(private state: number) { this.state = state >>> 0; }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.next(); }
  int(n: number): number { return Math.floor(this.next() * n); }

  /** Fisher–Yates shuffle of 0..n−1. */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }

  getState(): number { return this.state; }
  setState(s: number): void { this.state = s >>> 0; }
}
