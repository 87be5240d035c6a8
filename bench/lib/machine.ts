/** Where a benchmark ran, as its report's first lines state it. */
export interface Machine {
  date: string
  node: string
  cpus: number
  cpuModel: string
  loadavg: number[]
  tools: Record<string, string>
}

/** The report lines naming the date, Node, CPUs, load and tool versions. */
export function describeMachine(m: Machine): string[] {
  return [
    `${m.date}, Node ${m.node}, ${m.cpus} × ${m.cpuModel}, load average ${m.loadavg
      .map((l) => l.toFixed(2))
      .join(' ')}.`,
    `${Object.entries(m.tools)
      .map(([name, version]) => `${name}: ${version}`)
      .join('; ')}.`,
  ]
}
