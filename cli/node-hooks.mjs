/**
 * A Node module-resolution hook for running the engine outside a bundler.
 *
 * tfjs-core's ES-module build (dist/*.js, which src/engine/tf.ts imports for
 * its gradient and chained-op side effects) uses extensionless relative
 * specifiers ("./gradients/Abs_grad") and has a file and a folder of the same
 * name ("./gradients.js" and "./gradients/"). Bundlers and Vitest resolve
 * those; Node does not. This hook resolves them the way a bundler would: the
 * ".js" file first, then the folder's index.js.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const JS_EXT = /\.(c|m)?js$|\.json$|\.wasm$/;

function candidate(base) {
  for (const suffix of ['.js', '/index.js']) {
    const url = new URL(base + suffix);
    if (existsSync(fileURLToPath(url))) return url.href;
  }
  return null;
}

export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (!JS_EXT.test(specifier)) {
    if ((specifier.startsWith('./') || specifier.startsWith('../')) && parent.includes('/node_modules/@tensorflow/')) {
      const hit = candidate(new URL(specifier, parent).href);
      if (hit) return next(hit, context);
    } else if (/^@tensorflow\/[^/]+\/dist\//.test(specifier)) {
      try {
        return await next(`${specifier}.js`, context);
      } catch {
        // fall through to the default resolution
      }
    }
  }
  return next(specifier, context);
}
