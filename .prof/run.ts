import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradKernels } from './k';
await tf.setBackend('wasm'); registerWasmGradKernels();
const G = globalThis as any; G.P = {tx: 0, z: 0, tdy: 0, conv: 0};
for (const [xs, ws, s, pad] of [[[8,40,40,64],[3,3,64,64],1,'same'], [[8,40,40,64],[3,3,64,128],2,1], [[8,80,80,3],[7,7,3,64],2,3], [[8,20,20,128],[1,1,128,256],2,'valid'], [[8,10,10,256],[3,3,256,256],1,'same']] as any) {
  const x = tf.randomNormal(xs); const y = tf.conv2d(x as any, tf.zeros(ws) as any, s, pad); const dy = tf.randomNormal(y.shape);
  const f = () => (tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {strides: [s,s], pad, dataFormat: 'NHWC', filterShape: ws}) as tf.Tensor).dispose();
  f(); G.P = {tx: 0, z: 0, tdy: 0, conv: 0};
  const t0 = performance.now(); for (let i = 0; i < 5; i++) f(); const tot = (performance.now() - t0) / 5;
  console.log(JSON.stringify(xs), JSON.stringify(ws), 'total', tot.toFixed(1), Object.entries(G.P).map(([k, v]) => `${k} ${((v as number)/5).toFixed(1)}`).join(' '));
}
