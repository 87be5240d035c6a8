/** The committed record of what the code was generated from. */
export const TASK_SPEC_PATH = '.devsys/task.yml'
/** Every `/revise` request, oldest first. */
export const FEEDBACK_PATH = '.devsys/feedback.md'
/** Lists the files the scaffold wrote last time, so a later run can remove the ones it drops. */
export const GENERATED_LIST_PATH = '.devsys/generated.json'
/** Where the prompt is written in the workspace while the agent runs; never committed. */
export const PROMPT_PATH = '.devsys/prompt.md'

const BOOKKEEPING = new Set([TASK_SPEC_PATH, FEEDBACK_PATH, GENERATED_LIST_PATH, PROMPT_PATH])

/**
 * True for the files DevSys writes into a repository for its own bookkeeping. They share the
 * `.devsys/` folder with the manifests people write (and the default manifest globs match
 * `.devsys/*.yml` and `.devsys/*.json`), so intake must skip them by name whatever the globs say:
 * otherwise every merge of a DevSys PR would be checked, and fail, as a manifest.
 */
export function isBookkeepingPath(path: string): boolean {
  return BOOKKEEPING.has(path)
}
