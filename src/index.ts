import type { ApplicationFunction } from 'probot'
import { createApiHandler } from './api/create-api-handler.js'
import type { AppDeps } from './app-deps.js'
import { subscriptions } from './webhooks/index.js'

/** The DevSys Probot app: wires webhook events and the manager API to their handlers. */
export function devsysApp(deps: AppDeps): ApplicationFunction {
  return async (app, { addHandler }) => {
    for (const subscription of subscriptions) subscription.register(app, deps)
    addHandler(createApiHandler(deps))
    // Probot registers an app's webhook URL as the server root; accept deliveries there too.
    if (deps.config.webhookPath !== '/') addHandler(await app.getNodeMiddleware({ path: '/' }))
  }
}
