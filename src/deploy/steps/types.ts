import type { Logger } from 'pino'
import type { DeploymentStatusState } from '../../report/deployment.js'
import type { DeployPayload, DeployRepo } from '../../triggers/job-payloads.js'

/** A deploy payload whose repository is complete (see completeRepo). */
export type ResolvedDeploy = DeployPayload & { repo: DeployRepo }

/** Adds a status to this deploy's GitHub deployment (made by the record step). */
export type SetStatus = (
  state: DeploymentStatusState,
  description: string,
  url?: string | null,
) => Promise<void>

/** Tells people how the deploy went, in its sticky comment on the PR (see answerDeploy). */
export type Answer = (body: string, reaction: 'rocket' | 'confused' | null) => Promise<void>

/** The deploy as the steps after `record` see it. */
export interface RecordedDeploy {
  environment: string
  /** The deploy's row in the store's history. */
  record: number
  status: SetStatus
  answer: Answer
  log: Logger
}
