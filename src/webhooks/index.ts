import type { Probot } from 'probot'
import type { AppDeps } from '../app-deps.js'
import { CHECK_RUN_EVENTS, receiveCheckRerun } from './check-run.js'
import { COMMENT_EVENTS, receiveComment } from './issue-comment.js'
import { ISSUE_INTAKE_EVENTS, receiveIssue } from './issues.js'
import { PULL_REQUEST_EVENTS, receivePullRequestPush } from './pull-request.js'
import { PUSH_EVENTS, receivePush } from './push.js'

/**
 * Every webhook DevSys handles, with the function that registers its handler. app.yml's
 * `default_events` must name exactly these events (test/app-manifest.test.ts checks it).
 */
export const subscriptions = [
  {
    events: ISSUE_INTAKE_EVENTS,
    register: (app: Probot, deps: AppDeps) =>
      app.on([...ISSUE_INTAKE_EVENTS], (context) => receiveIssue(context, deps)),
  },
  {
    events: PUSH_EVENTS,
    register: (app: Probot, deps: AppDeps) =>
      app.on([...PUSH_EVENTS], (context) => receivePush(context, deps)),
  },
  {
    events: COMMENT_EVENTS,
    register: (app: Probot, deps: AppDeps) =>
      app.on([...COMMENT_EVENTS], (context) => receiveComment(context, deps)),
  },
  {
    events: PULL_REQUEST_EVENTS,
    register: (app: Probot, deps: AppDeps) =>
      app.on([...PULL_REQUEST_EVENTS], (context) => receivePullRequestPush(context, deps)),
  },
  {
    events: CHECK_RUN_EVENTS,
    register: (app: Probot, deps: AppDeps) =>
      app.on([...CHECK_RUN_EVENTS], (context) => receiveCheckRerun(context, deps)),
  },
] as const

/** The webhook events DevSys subscribes to, and GitHub's `ping`: the labels /metrics counts by. */
export function webhookEventNames(): string[] {
  const names = subscriptions.flatMap((s) => s.events.map((event) => event.split('.')[0] ?? event))
  return [...new Set([...names, 'ping'])]
}
