/**
 * `align --shard K/N`: which films of the plan this process aligns.
 *
 * The rule: a film belongs to shard  sha256(key) mod N, reading the digest's
 * first 8 bytes as a big-endian integer (key = the film's name in
 * transforms.json). It depends on nothing but the key and N, so reordering the
 * list moves no film and adding one moves only that one; anyone can recompute
 * it (Python: int(hashlib.sha256(key.encode()).hexdigest()[:16], 16) % N).
 * The price is balance: shard sizes are binomial, M/N ± √(M/N) films (1,121 ± 33
 * for ChestX-ray14 in 100 shards, the largest about 8% over the mean), where
 * sorting by hash and dealing round-robin would balance to ±1 but move about
 * half the films when one is inserted — and a moved film is redone by its new
 * shard and left behind by its old one.
 *
 * Without --shard, a scheduler's job array picks the shard: Slurm's
 * SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, a Kubernetes Indexed Job's
 * JOB_COMPLETION_INDEX with CXR_ALIGN_SHARDS, or CXR_ALIGN_SHARD /
 * CXR_ALIGN_SHARDS from anything else. CXR_ALIGN_SHARDS always overrides the
 * count, which is how a resubmitted subset of a Slurm array keeps its shards.
 */
import { createHash } from 'node:crypto';
import { UsageError } from './args';

export interface Shard {
  index: number;
  count: number;
  /** Where the shard came from, for the log ("--shard", "SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_COUNT=10"). */
  source: string;
}

export const WHOLE: Shard = { index: 0, count: 1, source: 'no --shard and no job array' };

const MAX_SHARDS = 1_000_000;

export function shardOf(key: string, count: number): number {
  if (count === 1) return 0;
  const d = createHash('sha256').update(key, 'utf8').digest();
  return Number(d.readBigUInt64BE(0) % BigInt(count));
}

function whole(text: string | undefined): number | undefined {
  return text !== undefined && /^\s*\d+\s*$/.test(text) ? Number(text) : undefined;
}

function checked(index: number, count: number, source: string, hint: string): Shard {
  if (count < 1 || count > MAX_SHARDS) throw new UsageError(`${source}: the shard count must be within 1..${MAX_SHARDS}`);
  if (index >= count) throw new UsageError(`${source}: shard ${index} is outside 0..${count - 1} (shards are numbered from 0)${hint}`);
  return { index, count, source };
}

/** "3/10" → shard 3 of 10 (0-based). */
export function parseShard(text: string, source = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UsageError(`${source} "${text}" must be K/N, shard K (from 0) of N, e.g. 0/10`);
  return checked(Number(m[1]), Number(m[2]), `${source} ${text}`, '');
}

/**
 * The shard the environment names, if any. Slurm's array is used as it is only
 * when it is exactly 0..N−1: an array from 1, a stepped one or a resubmitted
 * part (--array=37) would otherwise be misread as a different split.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  const override = env.CXR_ALIGN_SHARDS;
  const n = whole(override);
  if (override !== undefined && n === undefined) throw new UsageError(`CXR_ALIGN_SHARDS="${override}" must be a whole number`);
  const need = (name: string, v: string) => {
    const k = whole(v);
    if (k === undefined) throw new UsageError(`${name}="${v}" must be a whole number`);
    return k;
  };
  if (env.CXR_ALIGN_SHARD !== undefined) {
    const k = need('CXR_ALIGN_SHARD', env.CXR_ALIGN_SHARD);
    if (n === undefined) throw new UsageError(`CXR_ALIGN_SHARD=${k} is set but CXR_ALIGN_SHARDS (the count) is not`);
    return checked(k, n, `CXR_ALIGN_SHARD=${k}, CXR_ALIGN_SHARDS=${n}`, '');
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const k = need('SLURM_ARRAY_TASK_ID', env.SLURM_ARRAY_TASK_ID);
    if (n !== undefined) return checked(k, n, `SLURM_ARRAY_TASK_ID=${k}, CXR_ALIGN_SHARDS=${n}`, '');
    const count = whole(env.SLURM_ARRAY_TASK_COUNT);
    const min = whole(env.SLURM_ARRAY_TASK_MIN);
    const max = whole(env.SLURM_ARRAY_TASK_MAX);
    if (count === undefined) throw new UsageError(`SLURM_ARRAY_TASK_ID=${k} is set but SLURM_ARRAY_TASK_COUNT is not; set CXR_ALIGN_SHARDS or pass --shard ${k}/N`);
    if ((min !== undefined && min !== 0) || (max !== undefined && max !== count - 1)) {
      throw new UsageError(`the Slurm array is ${min ?? '?'}-${max ?? '?'} (${count} task(s)), not 0-${count - 1}: `
        + 'cxr-align numbers shards from 0 and takes the count from the array only when it is exactly 0..N-1 '
        + `(sbatch --array=0-${count - 1}). For a resubmitted part of an array set CXR_ALIGN_SHARDS to the full count, `
        + `or pass --shard $SLURM_ARRAY_TASK_ID/N`);
    }
    return checked(k, count, `SLURM_ARRAY_TASK_ID=${k}, SLURM_ARRAY_TASK_COUNT=${count}`, '');
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    const k = need('JOB_COMPLETION_INDEX', env.JOB_COMPLETION_INDEX);
    // Kubernetes does not put the Job's completions count into the pod's environment.
    if (n === undefined) throw new UsageError(`JOB_COMPLETION_INDEX=${k} is set but CXR_ALIGN_SHARDS is not: set it to the Job's completions, or pass --shard ${k}/N`);
    return checked(k, n, `JOB_COMPLETION_INDEX=${k}, CXR_ALIGN_SHARDS=${n}`, '');
  }
  if (n !== undefined) throw new UsageError(`CXR_ALIGN_SHARDS=${n} is set but no shard index (CXR_ALIGN_SHARD, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)`);
  return undefined;
}

/** --shard wins; else the environment; else the whole plan. */
export function resolveShard(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard {
  if (flag !== undefined) return parseShard(flag);
  return shardFromEnv(env) ?? WHOLE;
}

export function formatShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}

/** What a shard's files are named with: nothing for the whole plan, "-03-of-10" for a shard (padded so they sort). */
export function shardSuffix(s: Pick<Shard, 'index' | 'count'>): string {
  if (s.count === 1) return '';
  return `-${String(s.index).padStart(String(s.count - 1).length, '0')}-of-${s.count}`;
}
