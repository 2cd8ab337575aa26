export const BENCH_USAGE = 'todo';
export async function runBench(_argv: string[], _signal?: AbortSignal): Promise<number> { return 0; }
