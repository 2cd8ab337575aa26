/**
 * A Runner without a Worker, over the app's Api: the dispatcher runs in this
 * thread (src/rpc/in-process.ts). Node tests use it to drive the flows end to end.
 */
import { inProcessPort } from '../../rpc/index';
import { APP_IMMEDIATE, type AppApi, type Handlers } from './dispatcher';
import { PortRunner } from './runner';

export function inProcessRunner(handlers: Handlers): PortRunner {
  return new PortRunner(inProcessPort<AppApi>(handlers, { immediate: APP_IMMEDIATE }));
}
