// gittorrent cluster up|status|exec|commit|fault|pcap|logs|down: a cluster of nodes in QEMU on
// a network of their own (cluster/lifecycle.ts, cluster/supervisor/), the host side of the
// cluster protocol (docs/protocol.md).
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BootError, UsageError } from '../../core/errors.ts';
import { printResult } from '../../core/output.ts';
import { createProgress } from '../../core/progress.ts';
import { parseAccel } from '../../emulator/accel.ts';
import { clusterUp, controlSocket, teardown, type StatusResult, type UpResult, type UpTimes } from '../../cluster/lifecycle.ts';
import { clusterDir, validateName } from '../../cluster/runtime.ts';
import { callControl } from '../../cluster/supervisor/control.ts';
import type { LogEntry } from '../../cluster/supervisor/supervisor.ts';
import type { ConvergeResult } from '../../cluster/sync/converge.ts';

interface NameFlags {
  name: string;
  json?: boolean;
}

function nodeArg(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`NODE must be a node number (1, 2, ...), not "${text}"`);
  return n;
}

/** `wait --converged`'s answer, as printed (`--json`) by `wait` and `commit --wait`. */
function convergedJson(r: ConvergeResult) {
  return { converged: r.converged, rev: r.rev, ms: r.ms, rounds: r.rounds, roundsOf: r.roundsOf, ...(r.update ? { update: r.update } : {}), nodes: r.nodes };
}

function convergedText(x: ReturnType<typeof convergedJson>): string {
  return x.converged
    ? `converged at ${x.rev.slice(0, 12)} in ${x.ms} ms (${x.rounds} ${x.roundsOf === 'propagation' ? `propagation rounds, optimum ${x.update?.optimum}` : 'sync runs'})`
    : `not converged after ${x.ms} ms: ${x.nodes.map((n) => `node ${n.node} ${n.rev.slice(0, 12) || '-'}${n.pending ? ` pending ${n.pending}` : ''}`).join(', ')}`;
}

/** A `--timeout <seconds>` value. */
function seconds(text: string): number {
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0) throw new UsageError(`--timeout must be a positive number of seconds, not "${text}"`);
  return s;
}

async function call<T>(name: string, req: Record<string, unknown> & { cmd: string }, timeoutMs?: number): Promise<T> {
  const { socket } = controlSocket(name);
  return callControl<T>(socket, req, timeoutMs);
}

/** One command's result in `cluster exec --json` (an array of these). */
export interface ExecOut {
  command: string;
  status: string;
  lines: string[];
  events: Array<{ name: string; fields: Record<string, string>; line: string }>;
  error: string | null;
  data: string | null;
}

/** "1,2/3,4,5" → [[1,2],[3,4,5]]. */
export function parsePartition(text: string): number[][] {
  const groups = text.split('/').map((g) => g.split(',').filter(Boolean).map(nodeArg));
  if (groups.length < 2 || groups.some((g) => g.length === 0)) throw new UsageError(`a partition is groups of nodes split by "/", e.g. 1,2/3,4,5, not "${text}"`);
  const all = groups.flat();
  if (new Set(all).size !== all.length) throw new UsageError(`a node is in two groups of the partition "${text}"`);
  return groups;
}

/**
 * `up --verbose`: one `timing: EVENT +MS ms (at MS ms)` line per event of `up`, in the order they
 * happened, on the clock of the CLI process's start (+: since the line before).
 */
export function formatUpTimes(t: UpTimes): string {
  const rows: Array<[string, number]> = t.phases.map((p) => [p.phase === 'cli' ? 'cli-started' : p.phase === 'ready' ? 'cli-saw-all-ready' : p.phase === 'heard' ? 'cli-saw-all-heard' : p.phase, p.atMs]);
  const sup = t.supervisor;
  rows.push(['supervisor-process', sup.processMs], ['supervisor-loaded', sup.mainMs]);
  if (sup.peerMs !== undefined) rows.push(['host-peer-started', sup.peerMs]);
  if (sup.listeningMs !== undefined) rows.push(['control-socket', sup.listeningMs]);
  const each = (k: 'launchedMs' | 'readyMs' | 'heardMs', what: string) => {
    const v = t.nodes.map((n) => n[k]).filter((x): x is number => x !== undefined);
    if (v.length === 0) return;
    rows.push([`first-${what}`, Math.min(...v)]);
    if (v.length > 1) rows.push([`last-${what}`, Math.max(...v)]);
  };
  each('launchedMs', 'qemu-launch');
  each('readyMs', 'ready');
  each('heardMs', 'heard');
  rows.sort((a, b) => a[1] - b[1]);
  let prev = 0;
  return rows.map(([name, at]) => {
    const line = `timing: ${name} +${at - prev} ms (at ${at} ms)`;
    prev = at;
    return line;
  }).join('\n') + '\n';
}

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('run a cluster of nodes on a network of their own (docs/protocol.md)');
  const named = (c: Command) => c.option('--name <name>', 'which cluster', 'default');

  named(cluster.command('up'))
    .description('boot N nodes on a bridge in a new network namespace; returns once all are ready and heard (a running cluster grows to N nodes)')
    .requiredOption('--nodes <n>', 'number of nodes (1..254)')
    .option('--image <file>', 'node image to copy for every node (default: the built out/node.img)')
    .option('--node-image <n=file...>', 'a different image for node N (repeatable)')
    .option('--net <mode>', 'netns (root: namespace, bridge, taps) or user-mcast (QEMU multicast sockets, no faults)', 'netns')
    .option('--rate <rate>', 'limit every link with tc tbf, e.g. 20mbit')
    .option('--pcap <file>', 'capture the bridge from the start')
    .option('--key-file <file>', 'the cluster key (16-64 bytes; default: 32 random bytes)')
    .option('--accel <a>', 'tcg or kvm (auto: tcg)', 'auto')
    .option('--memory <mb>', 'guest memory per node in MiB', '256')
    .option('--timeout <seconds>', 'give up after this many seconds', '300')
    .option('--json', 'print the cluster as JSON')
    .option('--verbose', "print where up's time went (ms since the command started), on stderr")
    .action(async (flags: NameFlags & { nodes: string; image?: string; net: string; rate?: string; pcap?: string; nodeImage?: string[]; keyFile?: string; accel: string; memory: string; timeout: string; verbose?: boolean }, cmd: Command) => {
      validateName(flags.name);
      const nodes = Number(flags.nodes);
      const timeoutS = Number(flags.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`--timeout must be a positive number of seconds`);
      const memoryMb = Number(flags.memory);
      if (!Number.isInteger(memoryMb) || memoryMb < 16) throw new UsageError(`--memory must be at least 16 (MiB), not "${flags.memory}"`);
      const accel = parseAccel(flags.accel);
      const progress = createProgress({ quiet: flags.json });
      const { checkUpOptions } = await import('../../cluster/lifecycle.ts');
      checkUpOptions({ nodes, name: flags.name, net: flags.net, rate: flags.rate });
      let image = flags.image ? resolve(flags.image) : undefined;
      if (!image) {
        const { build, DEFAULT_OUT } = await import('../../Makefile.ts');
        image = resolve(DEFAULT_OUT, 'node.img');
        if (!existsSync(image)) {
          progress.start('building the node image');
          image = (await build({ progress })).image;
        }
      }
      const nodeImages: Record<number, string> = {};
      for (const a of flags.nodeImage ?? []) {
        const m = /^(\d+)=(.+)$/.exec(a);
        if (!m) throw new UsageError(`--node-image must be N=FILE, not "${a}"`);
        nodeImages[Number(m[1])] = resolve(m[2]!);
      }
      const r = await clusterUp({
        name: flags.name, nodes, image, nodeImages, net: flags.net as 'netns' | 'user-mcast', netGiven: cmd.getOptionValueSource('net') === 'cli', keyFile: flags.keyFile, rate: flags.rate,
        pcap: flags.pcap ? resolve(flags.pcap) : undefined, accel: accel === 'kvm' ? 'kvm' : 'tcg', memoryMb, timeoutMs: timeoutS * 1000, progress,
        ...(flags.verbose ? { onTimes: (t: UpTimes) => process.stderr.write(formatUpTimes(t)) } : {}),
      });
      printResult(r, flags, (x: UpResult) => [`cluster ${x.name}: ${x.netns ? `namespace ${x.netns}, ` : ''}group ${x.group} port ${x.port}`, ...x.nodes.map((n) => `  node ${n.node}  ${n.ip}  ${n.mac}  ${n.disk}`)].join('\n'));
    });

  // the supervisor process itself (cluster/supervisor/run.ts), started by `up`: hidden
  cluster.command('supervise', { hidden: true })
    .argument('<dir>', "the cluster's runtime folder")
    .action(async (dir: string) => {
      const { runSupervisor } = await import('../../cluster/supervisor/run.ts');
      await runSupervisor(dir);
      await new Promise(() => undefined); // it runs until down (it exits itself)
    });

  named(cluster.command('status'))
    .description('per node: state, filesystem revision, kernel, version')
    .option('--json', 'print as JSON')
    .action(async (flags: NameFlags) => {
      const s = await call<StatusResult>(flags.name, { cmd: 'status' });
      printResult(s, flags, (x) => x.nodes.map((n) => `node ${n.node}  ${n.state.padEnd(8)} rev ${n.rev.slice(0, 12) || '-'}  kernel ${n.kernel.slice(0, 12) || '-'}  version ${n.version || '-'}${n.heard ? '  heard' : ''}${n.boots > 1 ? `  reset ${n.boots - 1}×` : ''}${n.update ? `  update ${n.update.held}/${n.update.pieces}` : ''}${n.error ? `  (${n.error})` : ''}`).join('\n'));
    });

  named(cluster.command('wait'))
    .description('wait until the cluster converged: one revision on every live node, nothing pending')
    .requiredOption('--converged', 'wait for convergence (the only condition so far)')
    .option('--timeout <seconds>', 'give up after this many seconds', '120')
    .option('--json', 'print {converged, rev, ms, rounds, roundsOf, update} as JSON')
    .action(async (flags: NameFlags & { timeout: string }) => {
      const timeoutS = seconds(flags.timeout);
      const { waitConverged } = await import('../../cluster/sync/converge.ts');
      const r = await waitConverged(() => call<StatusResult>(flags.name, { cmd: 'status' }, 30_000), timeoutS * 1000);
      printResult(convergedJson(r), flags, convergedText);
      if (!r.converged) throw new BootError(`cluster ${flags.name} did not converge within ${timeoutS} s`);
    });

  named(cluster.command('exec'))
    .description("run shell commands on a node's serial shell (one argument each)")
    .argument('<node>', 'node number')
    .argument('<commands...>', 'shell commands, e.g. "ls /" "peers"')
    .option('--json', 'print every command result as JSON')
    .action(async (node: string, commands: string[], flags: NameFlags) => {
      const out = await call<ExecOut[]>(flags.name, { cmd: 'exec', node: nodeArg(node), commands }, 600_000);
      if (flags.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      else {
        for (const r of out) {
          for (const l of r.lines) process.stdout.write(l + '\n');
          if (r.data) process.stdout.write(Buffer.from(r.data, 'base64'));
          for (const e of r.events) {
            if (e.name === 'error') process.stderr.write(`${r.command.split(' ')[0]}: ${e.fields.reason ?? 'error'}\n`);
            else if (e.name !== 'data') process.stdout.write(e.line + '\n');
          }
        }
      }
      const failed = out.filter((r) => r.status !== 'ok');
      if (failed.length > 0) throw new BootError(`${failed.length} of ${out.length} commands failed (first: ${failed[0]!.command}: ${failed[0]!.error ?? 'error'})`);
    });

  named(cluster.command('policy'))
    .description('set a branch (glob) replication policy: all, or copies=K placed by rendezvous hashing (config/policy)')
    .argument('<branch>', 'branch name or glob (* matches anything)')
    .argument('<policy>', 'all | copies=K (K 1..254)')
    .option('--node <n>', 'the node that commits the new configuration (default: every ready node)', 'all')
    .option('--json', 'print the result as JSON')
    .action(async (branch: string, policy: string, flags: NameFlags & { node: string }) => {
      const { parseCopies } = await import('../../cluster/placement.ts');
      const copies = parseCopies(policy);
      if (copies === null) throw new UsageError(`policy must be all or copies=K (K 1..254), not "${policy}"`);
      if (!/^[A-Za-z0-9._/*-]{1,63}$/.test(branch)) throw new UsageError(`bad branch glob "${branch}" (1-63 of A-Z a-z 0-9 . _ / - *)`);
      const node = flags.node === 'all' ? 'all' : nodeArg(flags.node);
      const r = await call<{ nodes: Array<{ node: number; blob: string }> }>(flags.name, { cmd: 'policy', node, glob: branch, copies: copies === 'all' ? 255 : copies }, 120_000);
      printResult(r, flags, (x) => x.nodes.map((n) => `node ${n.node}: config/policy ${n.blob}`).join('\n'));
    });

  named(cluster.command('commit'))
    .description("send DIR's files to a node over the network (host peer) and have the node commit them")
    .argument('<node>', 'node number')
    .argument('<dir>', 'folder whose files become the branch content')
    .requiredOption('--branch <b>', 'branch to commit on')
    .option('-m, --message <msg>', 'commit message')
    .option('--wait', 'then wait until the cluster converged, counting from before the commit (as `wait --converged`)')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this many seconds', '120')
    .option('--json', 'print the commit (and with --wait, the convergence as `wait`) as JSON')
    .action(async (node: string, dir: string, flags: NameFlags & { branch: string; message?: string; wait?: boolean; timeout: string }) => {
      const blen = Buffer.byteLength(flags.branch);
      if (blen < 1 || blen > 63 || !/^[A-Za-z0-9._\/-]+$/.test(flags.branch)) throw new UsageError(`--branch must be 1-63 bytes of letters, digits, . _ / -, not "${flags.branch}"`);
      if (Buffer.byteLength(flags.message ?? '') > 1024) throw new UsageError('a cluster commit message is at most 1024 bytes');
      const timeoutS = seconds(flags.timeout);
      const status = () => call<StatusResult>(flags.name, { cmd: 'status' }, 30_000);
      // the status before the commit: the wait counts from it (a propagation the commit starts
      // may end before the first poll after it)
      const t0 = Date.now();
      const since = flags.wait ? { ...(await status()), t0 } : undefined;
      const r = await call<{ commit: string; tree: string; files: number }>(flags.name, { cmd: 'commit', node: nodeArg(node), dir: resolve(dir), branch: flags.branch, message: flags.message ?? '' }, 24 * 3_600_000); // (the supervisor bounds the node's answer by the tree's size)
      if (!since) {
        printResult(r, flags, (x) => `${x.commit} (${x.files} files, tree ${x.tree})`);
        return;
      }
      const { waitConverged } = await import('../../cluster/sync/converge.ts');
      const w = await waitConverged(status, timeoutS * 1000, 250, since);
      printResult({ ...r, wait: convergedJson(w) }, flags, (x) => `${x.commit} (${x.files} files, tree ${x.tree})\n${convergedText(x.wait)}`);
      if (!w.converged) throw new BootError(`cluster ${flags.name} did not converge within ${timeoutS} s of the commit`);
    });

  const fault = cluster.command('fault').description('network faults (nftables bridge family) and node kills');
  const faultCmd = (name: string, desc: string, args: string[], build: (...a: string[]) => Record<string, unknown> & { cmd: string }) => {
    const c = named(fault.command(name)).description(desc);
    for (const a of args) c.argument(`<${a}>`);
    c.option('--json', 'print the result as JSON').action(async (...all: unknown[]) => {
      const flags = all[args.length] as NameFlags;
      const r = await call<unknown>(flags.name, build(...(all.slice(0, args.length) as string[])), 300_000);
      printResult(r, flags, (x) => JSON.stringify(x));
    });
  };
  faultCmd('loss', 'drop P percent of the frames on every path', ['percent'], (p) => {
    const n = Number(p);
    if (!Number.isFinite(n) || n < 0 || n > 100) throw new UsageError(`loss must be a percentage from 0 to 100, not "${p}"`);
    return { cmd: 'fault', kind: 'loss', percent: n };
  });
  faultCmd('partition', 'split the nodes into groups that cannot reach each other, e.g. 1,2/3,4,5', ['groups'], (g) => ({ cmd: 'fault', kind: 'partition', groups: parsePartition(g) }));
  faultCmd('heal', 'remove loss, partitions and cut links', [], () => ({ cmd: 'fault', kind: 'heal' }));
  faultCmd('cut', "set a node's link down", ['node'], (n) => ({ cmd: 'fault', kind: 'link', node: nodeArg(n), up: false }));
  faultCmd('kill', "stop a node's VM", ['node'], (n) => ({ cmd: 'kill', node: nodeArg(n) }));
  faultCmd('start', "boot a stopped node's VM again", ['node'], (n) => ({ cmd: 'start', node: nodeArg(n) }));

  named(cluster.command('pcap'))
    .description('capture the bridge to FILE (tcpdump) until down')
    .argument('<file>')
    .action(async (file: string, flags: NameFlags) => {
      const r = await call<{ file: string }>(flags.name, { cmd: 'pcap', file: resolve(file) });
      process.stderr.write(`capturing to ${r.file}\n`);
    });

  named(cluster.command('logs'))
    .description("a node's serial lines since up, with the host's time")
    .argument('<node>')
    .option('--json', 'print as JSON')
    .action(async (node: string, flags: NameFlags) => {
      const logs = await call<LogEntry[]>(flags.name, { cmd: 'logs', node: nodeArg(node) });
      printResult(logs, flags, (x) => x.map((l) => `${l.time} ${l.line}`).join('\n'));
    });

  named(cluster.command('down'))
    .description('stop the cluster: VMs, supervisor, namespace, taps, nftables (disks stay until the next up)')
    .action(async (flags: NameFlags) => {
      validateName(flags.name);
      const r = await teardown(flags.name, { keepDisks: true });
      if (!r.found) throw new UsageError(`cluster "${flags.name}" is not up`);
      process.stderr.write(`cluster ${flags.name} is down (disks kept in ${clusterDir(flags.name)}/disks)\n`);
    });
}
