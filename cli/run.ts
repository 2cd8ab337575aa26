/** Command dispatch, usage text, Ctrl-C handling and exit codes. */
import { UsageError } from './args';

interface Command {
  summary: string;
  usage: () => Promise<string>;
  run: (argv: string[], signal: AbortSignal) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  align: {
    summary: 'align films (files, folders or a --list; --shard K/N, --resume) and write aligned PNGs + transforms.json/.csv',
    usage: async () => (await import('./commands/align')).ALIGN_USAGE,
    run: async (argv, signal) => (await import('./commands/align')).runAlign(argv, signal),
  },
  merge: {
    summary: 'join the journals of align --shard runs into one transforms.json/.csv (names missing and duplicated films)',
    usage: async () => (await import('./commands/merge')).MERGE_USAGE,
    run: async (argv) => (await import('./commands/merge')).runMerge(argv),
  },
  train: {
    summary: 'train the alignment network on a folder of films (checkpoints, resume, samples)',
    usage: async () => (await import('./commands/train')).TRAIN_USAGE,
    run: async (argv, signal) => (await import('./commands/train')).runTrain(argv, signal),
  },
  canonical: {
    summary: 'build the canonical chest: mean image of N films and its lung crop',
    usage: async () => (await import('./commands/canonical')).CANONICAL_USAGE,
    run: async (argv) => (await import('./commands/canonical')).runCanonical(argv),
  },
  eval: {
    summary: 'score a model on films with lung masks (pairwise Dice, cut lungs, equivariance) beside baselines',
    usage: async () => (await import('./commands/eval')).EVAL_USAGE,
    run: async (argv) => (await import('./commands/eval')).runEval(argv),
  },
  bench: {
    summary: 'time inference, training and the warp per backend and resolution (+ PyTorch yardstick)',
    usage: async () => (await import('./commands/bench')).BENCH_USAGE,
    run: async (argv) => (await import('./commands/bench')).runBench(argv),
  },
};

function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return `Usage: cxr-align <command> [options]

Commands:
${Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}${c.summary}`).join('\n')}

Run "cxr-align <command> --help" for a command's options.`;
}

/** Run a command line; resolves to the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? COMMANDS[rest[0]] : undefined;
    console.log(target ? await target.usage() : mainUsage());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`cxr-align: unknown command "${name}"\n\n${mainUsage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(await cmd.usage());
    return 0;
  }
  // First Ctrl-C (or SIGTERM, as `kill` and service managers send): finish the current step/batch, save, exit.
  // Second: exit now.
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) {
      console.error('\ncxr-align: interrupted again, exiting without saving');
      process.exit(130);
    }
    console.error('\ncxr-align: interrupted; finishing the current step and saving (Ctrl-C again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    return await cmd.run(rest, abort.signal);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`cxr-align ${name}: ${e.message}\n\n${await cmd.usage()}`);
      return 2;
    }
    console.error(`cxr-align ${name}: ${(e as Error).message}`);
    if (process.env.CXR_ALIGN_DEBUG) console.error(e);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
