/**
 * Whole datasets (issue #13): file lists, shards, the journal, resume after a
 * kill, merge. The end-to-end part runs the real CLI (bin/cxr-align.mjs) in
 * separate processes on 30 real ChestX-ray14 films read in place from
 * ../shared/data/cxr14/images (skipped with a message when it is absent),
 * with a small non-identity model (64 px encoder, 48x60 frame) so the file
 * takes well under two minutes on two cores.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlignmentModel, defaultStnConfig, modelFiles, serializeModel, tf } from '../src/engine/index';
import { REPO_ROOT, sharedPath } from '../src/testing/shared-data';
import { alignCommand } from './commands/align';
import { mergeCommand } from './commands/merge';
import { parseCsv } from './csv';
import { readFileList } from './file-list';
import { planInputs } from './input-plan';
import { readJournal } from './journal';
import { setupBackend } from './backend';
import { parseShard, shardFromEnv, shardOf } from './shard';
import { silentSink } from './progress';

const CXR14 = sharedPath('data/cxr14/images');
const HAS_CXR14 = existsSync(CXR14);
if (!HAS_CXR14) console.warn(`[dataset-scale tests] ${CXR14} is absent: the end-to-end shard/resume/merge tests are skipped.`);

const tmp = mkdtempSync(join(tmpdir(), 'cxr-align-scale-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('file lists', () => {
  it('parses CSV as RFC 4180: header, quotes, doubled quotes, commas and line breaks inside quotes, CRLF, BOM', () => {
    const rows = parseCsv('\uFEFF"Image Index",Finding Labels,n\r\na.png,"Effusion, Mass",1\r\n"b ""x"".png","two\nlines",2\n\nc.png,,3');
    expect(rows.map((r) => r.fields)).toEqual([
      ['Image Index', 'Finding Labels', 'n'], ['a.png', 'Effusion, Mass', '1'], ['b "x".png', 'two\nlines', '2'], ['c.png', '', '3'],
    ]);
    expect(rows.map((r) => r.line)).toEqual([1, 2, 3, 6]);
    expect(() => parseCsv('a,"open\nb')).toThrow(/opened on line 1 is never closed/);
  });

  it('reads a CSV column or a plain list relative to --root; names what it cannot use', () => {
    const dir = join(tmp, 'lists');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'l.csv'), 'Image Index,Patient ID\nimages/a.png,1\n,2\n"sub/b,1.dcm",3\n/elsewhere/c.png,4\n../up.png,5\n');
    const l = readFileList({ list: join(dir, 'l.csv'), column: 'Image Index', root: '/data' });
    expect(l.files).toEqual([
      { key: 'images/a.png', path: '/data/images/a.png', outRel: 'images/a.png' },
      { key: 'sub/b,1.dcm', path: '/data/sub/b,1.dcm', outRel: 'sub/b,1.png' },
      // Outside --root: written under the base name, as a file given on the command line is.
      { key: '/elsewhere/c.png', path: '/elsewhere/c.png', outRel: 'c.png' },
      { key: '../up.png', path: '/up.png', outRel: 'up.png' },
    ]);
    expect(l.problems).toEqual([`${join(dir, 'l.csv')} line 3: no "Image Index" value; row skipped`]);
    expect(() => readFileList({ list: join(dir, 'l.csv'), column: 'Path' })).toThrow(/no column "Path" in its header \(columns: "Image Index", "Patient ID"\)/);
    expect(() => readFileList({ list: join(dir, 'l.csv') })).toThrow(/looks like a CSV: name the column of paths with --column/);
    expect(() => readFileList({ list: join(dir, 'none.txt') })).toThrow(/none\.txt: no such file/);
    writeFileSync(join(dir, 'l.txt'), '# films\r\nx.png\r\n\r\n  y/z.jpg  \r\n');
    const t = readFileList({ list: join(dir, 'l.txt') });
    expect(t.files.map((f) => [f.key, f.path, f.outRel])).toEqual([['x.png', join(dir, 'x.png'), 'x.png'], ['y/z.jpg', join(dir, 'y/z.jpg'), 'y/z.png']]);
    // Entries writing one output (names differing only in case clash too): all are aligned, the later ones in the
    // plan under "-2", "-3" (the engine's naming rule), in every shard alike.
    writeFileSync(join(dir, 'dup.txt'), 'a.png\na.jpg\nA.dcm\nb.png\n');
    const p = planInputs([join(dir, 'nothing-here')], { list: join(dir, 'dup.txt') });
    expect(p.items.map((i) => [i.key, i.reason, i.outRel])).toEqual([
      [join(dir, 'nothing-here'), 'no such file or folder', undefined], ['a.png', undefined, 'a.png'], ['a.jpg', undefined, 'a-2.png'],
      ['A.dcm', undefined, 'A-3.png'], ['b.png', undefined, 'b.png'],
    ]);
    expect(p.renamed).toEqual([
      'a.jpg and a.png would both write a.png; a.jpg is written as a-2.png',
      'A.dcm and a.png would both write A.png; A.dcm is written as A-3.png',
    ]);
  });
});

describe('shards', () => {
  // ChestX-ray14's own naming (patient_followup.png), at its full size.
  const names = Array.from({ length: 112_120 }, (_, i) => `${String(Math.floor(i / 4) + 1).padStart(8, '0')}_${String(i % 4).padStart(3, '0')}.png`);

  it('balances ChestX-ray14-sized lists within the binomial spread, and moves no film when the list is reordered or grows', () => {
    const N = 100;
    const counts = new Array(N).fill(0);
    const of = names.map((n) => shardOf(n, N));
    for (const k of of) counts[k]++;
    const mean = names.length / N;
    const sd = Math.sqrt(mean * (1 - 1 / N));
    const worst = Math.max(...counts.map((c) => Math.abs(c - mean)));
    console.log(`112,120 films in ${N} shards: ${Math.min(...counts)}..${Math.max(...counts)} per shard (mean ${mean.toFixed(0)}, sd ${sd.toFixed(1)}), worst ${(100 * worst / mean).toFixed(1)}% off`);
    expect(worst).toBeLessThan(4.5 * sd);
    // Rank-free: the shard depends on the name alone.
    expect(shardOf('00000001_000.png', 7)).toBe(shardOf('00000001_000.png', 7));
    const reordered = [...names.slice(0, 1000)].reverse();
    reordered.forEach((n) => expect(shardOf(n, N)).toBe(of[names.indexOf(n)]));
    expect(shardOf('x', 1)).toBe(0);
  });

  it('takes K/N from --shard, Slurm arrays, Kubernetes Indexed Jobs and CXR_ALIGN_SHARD(S), and refuses what it would misread', () => {
    expect(parseShard('3/10')).toMatchObject({ index: 3, count: 10 });
    expect(() => parseShard('10/10')).toThrow(/outside 0\.\.9/);
    expect(() => parseShard('3')).toThrow(/must be K\/N/);
    expect(shardFromEnv({})).toBeUndefined();
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_COUNT: '100', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '99' }))
      .toMatchObject({ index: 7, count: 100 });
    // sbatch --array=1-100: not silently shifted.
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '100', SLURM_ARRAY_TASK_COUNT: '100', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '100' })).toThrow(/not 0-99/);
    // A resubmitted part of the array (--array=37) keeps its shard with the full count.
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '37', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '37', SLURM_ARRAY_TASK_MAX: '37' })).toThrow(/CXR_ALIGN_SHARDS/);
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '37', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '37', CXR_ALIGN_SHARDS: '100' })).toMatchObject({ index: 37, count: 100 });
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '4', CXR_ALIGN_SHARDS: '8' })).toMatchObject({ index: 4, count: 8 });
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '4' })).toThrow(/CXR_ALIGN_SHARDS is not/);
    expect(shardFromEnv({ CXR_ALIGN_SHARD: '1', CXR_ALIGN_SHARDS: '2' })).toMatchObject({ index: 1, count: 2 });
    expect(() => shardFromEnv({ CXR_ALIGN_SHARDS: '2' })).toThrow(/no shard index/);
  });
});

interface Ran { code: number | null; signal: NodeJS.Signals | null; out: string }

/** The CLI as users run it, in its own process, without any scheduler variables of the test's own environment. */
function cliProcess(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_|JOB_COMPLETION_INDEX|CXR_ALIGN_SHARD)/.test(k)));
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/cxr-align.mjs'), ...args], { cwd: REPO_ROOT, env: { ...clean, ...env } });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const done = new Promise<Ran>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out })));
  return { child, done };
}
const cli = (args: string[], env?: Record<string, string>) => cliProcess(args, env).done;

const doneLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith('{"type":"done"'));
const pngs = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.png')).sort();

describe.skipIf(!HAS_CXR14)('whole datasets end to end (real films from ../shared/data/cxr14, the CLI in separate processes)', () => {
  const films = HAS_CXR14 ? readdirSync(CXR14).filter((f) => f.endsWith('.png')).sort().slice(0, 30) : [];
  const MISSING = '00099999_000.png';
  const list = join(tmp, 'Data_Entry.csv');
  let modelDir: string;
  let otherModelDir: string;
  let common: string[];
  const whole = join(tmp, 'whole');
  let wholeRun: Ran;

  beforeAll(async () => {
    await setupBackend('wasm');
    // ChestX-ray14's list format, its films read in place; one listed film does not exist.
    const rows = films.map((f, i) => `${f},"Effusion|Mass",${i},"PA, upright"`);
    rows.splice(11, 0, `${MISSING},No Finding,99,PA`);
    writeFileSync(list, `"Image Index",Finding Labels,Follow-up #,View\r\n${rows.join('\r\n')}\r\n`);
    const write = async (dir: string, bias: number[]) => {
      const m = new AlignmentModel(defaultStnConfig({ locSize: 64, frame: { width: 48, height: 60 }, seed: 5, margin: { left: 0.1, right: 0.1, top: 0.1, bottom: 0.05 } }));
      m.params.assign('head.fc2.weight', tf.randomNormal([256, 5], 0, 0.02, 'float32', 2));
      m.params.assign('head.fc2.bias', tf.tensor1d(bias));
      mkdirSync(dir);
      for (const [name, bytes] of modelFiles(await serializeModel(m))) writeFileSync(join(dir, name), bytes);
      m.dispose();
    };
    modelDir = join(tmp, 'model');
    otherModelDir = join(tmp, 'model-other');
    await write(modelDir, [0.15, -0.1, -0.4, -0.3, 0.2]);
    await write(otherModelDir, [0.1, 0.1, -0.2, -0.2, 0.1]);
    common = ['--list', list, '--column', 'Image Index', '--root', CXR14, '--model', modelDir, '--quiet'];
    wholeRun = await cli(['align', ...common, '--out', whole]);
  });

  it('--list: the missing film is named with its reason and the other 30 are aligned', () => {
    expect(wholeRun.code, wholeRun.out).toBe(1);
    expect(wholeRun.out).toContain(`\n  ${MISSING}: no such file (looked for ${join(CXR14, MISSING)})`);
    expect(wholeRun.out).toMatch(/aligned 30 of 31 file\(s\).*; 1 failed/);
    const t = JSON.parse(readFileSync(join(whole, 'transforms.json'), 'utf8'));
    expect(Object.keys(t.transforms)).toEqual(films); // list order
    expect(t.failed).toEqual({ [MISSING]: `no such file (looked for ${join(CXR14, MISSING)})` });
    expect(pngs(whole)).toEqual(films);
    const j = readJournal(join(whole, 'journal.jsonl'));
    expect(j.header.shard).toEqual({ index: 0, count: 1 });
    expect([j.done.size, j.failed.size, j.end?.interrupted]).toEqual([30, 1, false]);
  });

  it('3 shards in parallel processes (--shard, a Slurm array, a Kubernetes Indexed Job), merged: the same transforms and PNG bytes as one run', async () => {
    const out = join(tmp, 'sharded');
    const runs = await Promise.all([
      cli(['align', ...common, '--out', out, '--shard', '0/3']),
      cli(['align', ...common, '--out', out], { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2' }),
      cli(['align', ...common, '--out', out], { JOB_COMPLETION_INDEX: '2', CXR_ALIGN_SHARDS: '3' }),
    ]);
    const sizes = runs.map((r, k) => {
      const m = new RegExp(`shard ${k}/3 \\((.*)\\): (\\d+) of the 31 film\\(s\\)`).exec(r.out);
      expect(m, r.out).not.toBeNull();
      return Number(m![2]);
    });
    expect(runs[1].out).toContain('SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_COUNT=3');
    expect(runs[2].out).toContain('JOB_COMPLETION_INDEX=2, CXR_ALIGN_SHARDS=3');
    console.log(`shard sizes: ${sizes.join(', ')} of 31`);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(31);
    const merged = await cli(['merge', out]);
    expect(merged.out).toMatch(/merged 3 journal\(s\) of shards 0, 1, 2 of 3: 30 aligned, 1 failed, 0 missing, 0 duplicated/);
    expect(merged.code).toBe(1); // a film failed, as the unsharded run's exit code says too
    expect(readFileSync(join(out, 'transforms.json'), 'utf8')).toBe(readFileSync(join(whole, 'transforms.json'), 'utf8'));
    expect(readFileSync(join(out, 'transforms.csv'), 'utf8')).toBe(readFileSync(join(whole, 'transforms.csv'), 'utf8'));
    expect(pngs(out)).toEqual(films);
    for (const f of films) expect(readFileSync(join(out, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
    expect(existsSync(join(out, 'merge-missing.txt'))).toBe(false);

    // Incomplete and overlapping journals: what is missing or duplicated is named.
    const part = join(tmp, 'part');
    const copy = join(tmp, 'copy');
    mkdirSync(part);
    mkdirSync(copy);
    const [j0, j1] = ['journal-0-of-3.jsonl', 'journal-1-of-3.jsonl'];
    copyFileSync(join(out, j0), join(part, j0));
    const lines = readFileSync(join(out, j1), 'utf8').trimEnd().split('\n');
    const cut = lines.filter((l) => l.startsWith('{"type":"done"')).slice(-2).map((l) => JSON.parse(l).key as string);
    writeFileSync(join(part, j1), `${lines.filter((l) => !cut.some((k) => l.includes(`"key":"${k}"`))).join('\n')}\n`);
    copyFileSync(join(out, j0), join(copy, j0));
    const logs: string[] = [];
    const m = mergeCommand({ sources: [part, copy], out: join(tmp, 'merged-part'), log: (s) => logs.push(s) });
    const shard2 = films.filter((f) => shardOf(f, 3) === 2);
    expect(m.missingShards).toEqual([2]);
    expect(m.missingUnnamed).toBe(sizes[2]);
    expect(m.missing).toEqual(films.filter((f) => cut.includes(f)));
    expect(m.duplicated).toHaveLength(sizes[0]);
    expect(logs.join('\n')).toContain(`error: no journal for shard(s) 2/3: ${sizes[2]} film(s) not covered`);
    expect(logs.join('\n')).toContain(cut[0]);
    // With the run's list, the films of the absent shard are named too, in list order.
    const named = mergeCommand({ sources: [part], out: join(tmp, 'merged-named'), list: { list, column: 'Image Index', root: CXR14 }, log: () => {} });
    expect(named.missing).toEqual(films.filter((f) => cut.includes(f) || shard2.includes(f)));
    expect(readFileSync(join(tmp, 'merged-named', 'merge-missing.txt'), 'utf8')).toBe(`${named.missing.join('\n')}\n`);
    // Journals of different runs are refused, not mixed.
    expect(() => mergeCommand({ sources: [out, whole], out: join(tmp, 'mixed'), log: () => {} })).toThrow(/is shard 0\/1, .* one of 3/);
  });

  it('killed with SIGKILL partway and resumed: only the unfinished films are redone, and the result is the uninterrupted run\'s', async () => {
    const out = join(tmp, 'killed');
    const journal = join(out, 'journal.jsonl');
    // One film at a time on the main thread, so the kill lands between films of a run in full swing.
    const run = cliProcess(['align', ...common, '--out', out, '--batch', '1', '--workers', '0']);
    const t0 = Date.now();
    while (!(existsSync(journal) && doneLines(journal).length >= 6)) {
      if (Date.now() - t0 > 60_000) throw new Error(`the run did not get going:\n${(await run.done).out}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    const before = doneLines(journal).map((l) => JSON.parse(l) as { key: string; out: string });
    const text = readFileSync(journal, 'utf8');
    expect(text).not.toContain('"type":"end"');
    expect(before.length).toBeLessThan(30);
    const inode = new Map(before.map((d) => [d.key, statSync(join(out, d.out)).ino]));

    const resumed = await cli(['align', ...common, '--out', out, '--resume']);
    const todo = 31 - before.length;
    console.log(`killed after ${before.length} film(s) were journaled; the resumed run:\n${resumed.out.split('\n').filter((l) => /resuming|aligned \d+ of/.test(l)).join('\n')}`);
    expect(resumed.out).toContain(`resuming ${journal}: ${before.length} film(s) done (outputs checked), ${todo} to do`);
    expect(resumed.out).toMatch(new RegExp(`aligned ${todo - 1} of 31 file\\(s\\) .*, ${before.length} more done by an earlier run; 1 failed`));
    // Not redone: the outputs journaled before the kill are the very files written then.
    for (const [key, ino] of inode) expect(statSync(join(out, key)).ino, key).toBe(ino);
    expect(readJournal(journal).done.size).toBe(30);
    expect(readFileSync(join(out, 'transforms.json'), 'utf8')).toBe(readFileSync(join(whole, 'transforms.json'), 'utf8'));
    expect(readFileSync(join(out, 'transforms.csv'), 'utf8')).toBe(readFileSync(join(whole, 'transforms.csv'), 'utf8'));
    for (const f of films) expect(readFileSync(join(out, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);

    // A done film whose output was changed or deleted since is redone; the others are not.
    writeFileSync(join(out, films[3]), 'not a png');
    rmSync(join(out, films[7]));
    const again = await alignCommand({
      inputs: [], list: { list, column: 'Image Index', root: CXR14 }, model: modelDir, out, resume: true, sink: silentSink, log: () => {},
    });
    expect([again.resumed, again.aligned]).toEqual([28, 2]);
    expect(readFileSync(join(out, 'transforms.json'), 'utf8')).toBe(readFileSync(join(whole, 'transforms.json'), 'utf8'));
    expect(readFileSync(join(out, films[3])).equals(readFileSync(join(whole, films[3])))).toBe(true);
  });

  it('--resume refuses a journal made with another model, frame or refinement, naming the difference', async () => {
    const base = { inputs: [], list: { list, column: 'Image Index', root: CXR14 }, out: whole, resume: true, sink: silentSink, log: () => {} };
    await expect(alignCommand({ ...base, model: otherModelDir })).rejects.toThrow(/other settings than this run \(journal vs now: model: .*model \(sha256 \w+…\) vs .*model-other \(sha256 \w+…\)\); refusing to mix them/);
    await expect(alignCommand({ ...base, model: modelDir, size: { width: 32, height: 40 } })).rejects.toThrow(/frame: \{"width":48,"height":60\} vs \{"width":32,"height":40\}/);
    await expect(alignCommand({ ...base, model: modelDir, refine: 2 })).rejects.toThrow(/refine: 0 vs 2/);
    // Nothing was mixed in: the journal is the first run's, untouched.
    expect(readJournal(join(whole, 'journal.jsonl')).done.size).toBe(30);
  });
});
