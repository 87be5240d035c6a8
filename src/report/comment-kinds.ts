/*
 * The kinds of DevSys's sticky comments: on each issue or pull request DevSys keeps one comment
 * of each kind and edits it in place (src/report/sticky-comment.ts). A kind is stored with the
 * comment's id, so renaming one orphans the comments already written: these names are fixed.
 */

/** On the issue a task came from: the intake's answer, then where the task's code is. */
export const INTAKE_COMMENT = 'intake'

/** On a task's pull request: its status (the code generated, the tests' result). */
export const PR_STATUS_COMMENT = 'status'

/** On a pull request: the answer to the newest command (`/help`, refusals, failures). */
export const COMMAND_COMMENT = 'command'

/** On a pull request: how its deploy went. */
export const DEPLOY_COMMENT = 'deploy'

/**
 * On a pull request: rollback answers, in their own place so that rolling back never replaces
 * the result of the deploy it takes out (people read both, side by side).
 */
export const ROLLBACK_COMMENT = 'rollback'

/**
 * On a pull request: "the environment is busy" refusals, in their own place so that a refusal
 * never replaces the result of the deploy that held the lock.
 */
export const DEPLOY_BUSY_COMMENT = 'deploy-busy'

/** On a pull request: the revert of a commit whose release was rolled back. */
export const REVERT_COMMENT = 'revert'
