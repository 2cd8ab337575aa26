/**
 * The engine's single entry to TensorFlow.js.
 *
 * tfjs-core alone registers neither gradients nor the chained tensor methods
 * (x.add(y)); the @tensorflow/tfjs package does both, in a form that fits each
 * host: Node resolves it to a CommonJS bundle built against tfjs-core's
 * CommonJS build, bundlers (Vite, for the page and the worker) to ES modules
 * built against tfjs-core's ES modules. Importing tfjs-core's dist/*.js side
 * effects directly instead would mix the two builds in Node, and their
 * extensionless specifiers do not even load under Node's ESM resolver.
 */
import '@tensorflow/tfjs';

export * from '@tensorflow/tfjs-core';
