import Dockerode from 'dockerode'
import { describe, expect } from 'vitest'
import { createDockerRunner, RUNNER_LABEL } from '../../runner/docker/create-docker-runner.js'
import { requireDocker } from '../helpers/services.js'
import { runnerContract } from './runner.contract.js'

const IMAGE = 'devsys/php-runner:latest'
const hasDocker = await requireDocker('the docker runner is tested against a real engine', IMAGE)

describe.skipIf(!hasDocker)('docker runner against a real engine: the Runner contract', () => {
  const docker = new Dockerode()
  runnerContract({
    kind: 'docker',
    runner: () => createDockerRunner({ image: IMAGE, docker }),
    leftNothingBehind: async () => {
      // No container this runner made still exists (running or not).
      const list = await docker.listContainers({
        all: true,
        filters: { label: [`${RUNNER_LABEL}=true`] },
      })
      expect(list.map((c) => c.Id)).toEqual([])
    },
    // The image holds PHP and PHPUnit.
    hasPhpUnit: true,
    hostPids: false,
    timeLimit: { timeoutMs: 1000, returnsWithinMs: 10_000 },
    abortAfterMs: 1000,
    bigOutput: { bytes: 2_000_000_000, testTimeoutMs: 120_000 },
    // The engine's runtime refuses to exec it; the runner reports that as a shell would.
    missingCommand:
      /cannot start "no-such-test-tool" in the test container: .*executable file not found/,
  })
})
