import { describeMachine } from '../lib/machine.js'
import { type Summary, summarize } from '../lib/summarize.js'
import type { BareRun } from './bare.js'
import type { LoopRun, SingleRun } from './devsys.js'

/** One round of one agent: every side's run. */
export interface AgentRound {
  /** The bare agent: iteration 1's script, then iteration 2's on the same work tree. */
  bare: BareRun[]
  devsys: SingleRun
  /** The same iteration with the sandbox off (DEVSYS_UNSAFE_NO_SANDBOX), for the breakdown. */
  unconfined: SingleRun
  loop: LoopRun
}

export interface AgentSummary {
  single: {
    bareMs: Summary
    devsysMs: Summary
    unconfinedMs: Summary
    /** DevSys's iteration − the bare agent's run. */
    overheadMs: Summary
    /** overheadMs / the bare agent's run. */
    ratio: Summary
    /** generate() less the agent part: git guard, task record, change checks. */
    checksMs: Summary
    /** The agent part − the bare agent: private folders, prompt, proxy, sandbox, forwarder. */
    launchMs: Summary
    /** The unconfined iteration − the sandboxed one (see results.md: negative means slower). */
    sandboxMs: Summary
  }
  loop: {
    /** The bare agent, both iterations' scripts. */
    bareMs: Summary
    totalMs: Summary
    perIterationMs: Summary
    /** (loop − bare, both iterations) / 2. */
    overheadMs: Summary
    /** overheadMs / the bare agent's mean run. */
    ratio: Summary
    /** Per iteration: generate() − the bare agent's run of the same script. */
    generatorMs: Summary
    commitPushMs: Summary
    /** Clean checkout + tests + its removal. */
    testMs: Summary
    /** runTaskTests alone. */
    testRunMs: Summary
    /** The local runner's run() alone (the rest of runTaskTests is mostly the JUnit worker). */
    runnerMs: Summary
    /** The workspace's clone and removal, once per loop, shared by its iterations. */
    workspaceMs: Summary
  }
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length

/** Medians (and spreads) over rounds of each figure; differences are taken within a round. */
export function summarizeAgent(rounds: AgentRound[]): AgentSummary {
  const over = (pick: (r: AgentRound) => number) => summarize(rounds.map(pick))
  const bare1 = (r: AgentRound) => r.bare[0]?.ms ?? Number.NaN
  const bareSum = (r: AgentRound) => r.bare.reduce((sum, b) => sum + b.ms, 0)
  const perIteration = (r: AgentRound, pick: (i: number) => number) =>
    mean(r.loop.iterations.map((_, i) => pick(i)))
  return {
    single: {
      bareMs: over(bare1),
      devsysMs: over((r) => r.devsys.totalMs),
      unconfinedMs: over((r) => r.unconfined.totalMs),
      overheadMs: over((r) => r.devsys.totalMs - bare1(r)),
      ratio: over((r) => (r.devsys.totalMs - bare1(r)) / bare1(r)),
      checksMs: over((r) => r.devsys.totalMs - r.devsys.runMs),
      launchMs: over((r) => r.devsys.runMs - bare1(r)),
      sandboxMs: over((r) => r.devsys.totalMs - r.unconfined.totalMs),
    },
    loop: {
      bareMs: over(bareSum),
      totalMs: over((r) => r.loop.totalMs),
      perIterationMs: over((r) => r.loop.totalMs / r.loop.iterations.length),
      overheadMs: over((r) => (r.loop.totalMs - bareSum(r)) / r.loop.iterations.length),
      ratio: over((r) => (r.loop.totalMs - bareSum(r)) / bareSum(r)),
      generatorMs: over((r) =>
        perIteration(
          r,
          (i) => (r.loop.iterations[i]?.generateMs ?? Number.NaN) - (r.bare[i]?.ms ?? Number.NaN),
        ),
      ),
      commitPushMs: over((r) =>
        perIteration(r, (i) => r.loop.iterations[i]?.commitPushMs ?? Number.NaN),
      ),
      testMs: over((r) => perIteration(r, (i) => r.loop.iterations[i]?.testMs ?? Number.NaN)),
      testRunMs: over((r) => perIteration(r, (i) => r.loop.iterations[i]?.testRunMs ?? Number.NaN)),
      runnerMs: over((r) => perIteration(r, (i) => r.loop.iterations[i]?.runnerMs ?? Number.NaN)),
      workspaceMs: over((r) => r.loop.workspaceMs),
    },
  }
}

export interface ReportInput {
  date: string
  node: string
  cpus: number
  cpuModel: string
  loadavgBefore: number[]
  loadavg: number[]
  tools: Record<string, string>
  options: { rounds: number; warmup: number; agents: string[] }
  results: Record<string, AgentRound[]>
}

const ms = (n: number): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 0 }) : 'n/a'
const pct = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : 'n/a')

/** The markdown report: per agent, the bare run, DevSys's iteration and loop, and where it goes. */
export function renderReport(r: ReportInput): string {
  const summaries = Object.entries(r.results).map(
    ([agent, rounds]) => [agent, summarizeAgent(rounds)] as const,
  )
  const row = (label: string, s: Summary) => `| ${label} | ${ms(s.median)} | ${ms(s.p90)} |`
  const head = ['| median of rounds (ms) | median | p90 |', '| --- | ---: | ---: |']
  const lines = [
    '# Agent benchmark: what an iteration costs DevSys',
    '',
    ...describeMachine({ ...r, loadavg: r.loadavgBefore }).map((line, i) =>
      i === 0 ? line.replace('load average', 'load average before') : line,
    ),
    `Load average after: ${r.loadavg.map((l) => l.toFixed(2)).join(' ')}. Rounds: ${r.options.rounds} per agent after ${r.options.warmup} warm-up, the side going first alternating. Fake model on loopback (test/support/fake-llm.ts); each agent run is one file write and a final answer.`,
    '',
    '## Overhead per iteration',
    '',
    '| agent | bare agent (ms) | DevSys iteration (ms) | overhead (ms) | overhead / agent | loop: per iteration (ms) | loop: overhead per iteration (ms) | loop: overhead / agent |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...summaries.map(
      ([agent, s]) =>
        `| ${agent} | ${ms(s.single.bareMs.median)} | ${ms(s.single.devsysMs.median)} | ${ms(s.single.overheadMs.median)} | ${pct(s.single.ratio.median)} | ${ms(s.loop.perIterationMs.median)} | ${ms(s.loop.overheadMs.median)} | ${pct(s.loop.ratio.median)} |`,
    ),
    '',
    'Medians over rounds; each overhead is taken within its round (DevSys − bare), then the median. "DevSys iteration" is one `generate()` of the agent generator; "loop" is `runGeneration` with the self-fix loop, two iterations (the first leaves a failing test), including the workspace clone, commits, pushes to a local bare remote and the tests on a clean checkout in the local runner\'s sandbox, divided by two.',
    '',
    "The sandbox-off iteration (DEVSYS_UNSAFE_NO_SANDBOX) is there for comparison; it can be slower than the sandboxed one, since without the sandbox DevSys waits for the agent's whole process group to end after the agent exits (see bench/README.md, agent). Medians of differences are not differences of medians, and opencode's own run time varies by seconds between runs: its single-iteration overhead is within that noise.",
  ]
  for (const [agent, s] of summaries) {
    lines.push(
      '',
      `## ${agent}`,
      '',
      ...head,
      row('bare agent, one run', s.single.bareMs),
      row('DevSys iteration (generate), sandboxed', s.single.devsysMs),
      row('**overhead of one iteration**', s.single.overheadMs),
      row(
        '· around the agent: private folders, prompt, model proxy, sandbox, forwarder',
        s.single.launchMs,
      ),
      row('· git guard, task record, change checks', s.single.checksMs),
      row('DevSys iteration, sandbox off (DEVSYS_UNSAFE_NO_SANDBOX)', s.single.unconfinedMs),
      row('sandboxed − sandbox off', s.single.sandboxMs),
      row('bare agent, both loop scripts', s.loop.bareMs),
      row('loop, two iterations', s.loop.totalMs),
      row('**loop overhead per iteration**', s.loop.overheadMs),
      row('· generator (generate − bare run)', s.loop.generatorMs),
      row('· commit + push', s.loop.commitPushMs),
      row('· tests: clean checkout, run, removal', s.loop.testMs),
      row('·· of which runTaskTests', s.loop.testRunMs),
      row('··· of which the local runner (sandboxed sh)', s.loop.runnerMs),
      row('workspace clone + removal (once per loop)', s.loop.workspaceMs),
    )
  }
  return `${lines.join('\n')}\n`
}
