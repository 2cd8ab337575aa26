/**
 * The worker side of the workbench's protocol: the generic RPC layer
 * (src/rpc) over the app's Api. DOM-free, so the in-process runner (Node
 * tests) runs exactly the code the Web Worker runs.
 */
import {
  Dispatcher as RpcDispatcher, errorMessage, JobSignal, withTransfer,
  type Handlers as RpcHandlers, type JobContext, type Post,
} from '../../rpc/index';
import { IMMEDIATE_METHODS, type Api } from './protocol';

export { errorMessage, JobSignal, withTransfer, type JobContext, type Post };

/** The app's methods (pause/resume/stop/cancel are the RPC layer's own control messages, not methods). */
export type AppApi = Api;
export type AppMethod = keyof AppApi;
export const APP_IMMEDIATE = IMMEDIATE_METHODS;

export type Handlers = RpcHandlers<AppApi>;

export class Dispatcher extends RpcDispatcher<AppApi> {
  constructor(handlers: Handlers, post: Post) {
    super(handlers, post, { immediate: APP_IMMEDIATE });
  }
}
