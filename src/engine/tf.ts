/**
 * The engine's single entry to TensorFlow.js. tfjs-core alone registers neither
 * gradients nor chained tensor methods (the umbrella @tensorflow/tfjs package
 * does, but it also drags layers/converter/data into every bundle), so the
 * engine imports tfjs through here.
 *
 * Order matters in Node: there '@tensorflow/tfjs-core' resolves to its CommonJS
 * bundle while the two side-effect modules are ES modules from dist/. Loading
 * the bundle first makes its Tensor class the global one that the side effects
 * then extend (tfjs keeps the engine, registries and Tensor class on a global
 * precisely so that two copies cooperate).
 */
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
