#!/usr/bin/env node
// `npx devsys start|validate|run`: DevSys runs from its TypeScript sources (no build step), so
// this registers tsx, found next to this file rather than in the caller's folder, and hands over.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/devsys.ts')
