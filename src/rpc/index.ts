/** One typed RPC layer for every thread boundary of the project (see messages.ts for the wire format). */
export * from './messages';
export { Dispatcher, JobSignal, withTransfer, type DispatcherOptions, type Handler, type Handlers, type JobContext, type Post } from './dispatcher';
export { PortRunner, type Job, type Port, type PortRunnerOptions, type Runner } from './runner';
export { inProcessPort, inProcessRunner } from './in-process';
