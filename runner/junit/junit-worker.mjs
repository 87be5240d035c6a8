// The parsing worker's entry when parseJUnitInWorker cannot bundle its body (see
// bundle-worker.ts): loads junit-worker-main through tsx from source, or as it is when built.
import { workerData } from 'node:worker_threads'

if (workerData.source) {
  const { tsImport } = await import('tsx/esm/api')
  await tsImport('./junit-worker-main.ts', import.meta.url)
} else {
  await import('./junit-worker-main.js')
}
