import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradKernels, TUNE } from './k2';
await tf.setBackend('wasm'); registerWasmGradKernels();
const best = (f: () => void) => { f(); let m = Infinity; for (let i = 0; i < 7; i++) { const t = performance.now(); f(); m = Math.min(m, performance.now() - t); } return m; };
for (const [xs, ws, s, pad] of [[[8,80,80,3],[7,7,3,64],2,3], [[8,40,40,8],[3,3,8,64],2,1], [[8,40,40,16],[3,3,16,64],2,1], [[8,40,40,32],[3,3,32,64],2,1],[[8,40,40,64],[3,3,64,128],2,1]] as any) {
  const y = tf.conv2d(tf.zeros(xs) as any, tf.zeros(ws) as any, s, pad); const dy = tf.randomNormal(y.shape); const w = tf.randomNormal(ws);
  const fl = 2 * y.size * ws[0] * ws[1] * ws[2];
  const f = () => (tf.engine().runKernel('Conv2DBackpropInput', {dy, filter: w}, {strides: [s,s], pad, dataFormat: 'NHWC', inputShape: xs}) as tf.Tensor).dispose();
  TUNE.v = 0; const sep = best(f); TUNE.v = 1e9; const comb = best(f);
  const fw = best(() => tf.conv2d(tf.zeros(xs) as any, w as any, s, pad).dispose());
  console.log(JSON.stringify(xs), JSON.stringify(ws), `separate ${sep.toFixed(1)}ms ${(fl/sep/1e6).toFixed(1)}  combined ${comb.toFixed(1)}ms ${(fl/comb/1e6).toFixed(1)}  fwd(+zeros) ${fw.toFixed(1)}`);
}
