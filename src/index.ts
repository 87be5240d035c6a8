import type { ApplicationFunction } from 'probot'
import { createApiHandler } from './api/create-api-handler.js'
import type { AppDeps } from './app-deps.js'
import { createDashboardHandler } from './dashboard/create-dashboard-handler.js'
import { createRoleChecker } from './dashboard/roles.js'
import { subscriptions } from './webhooks/index.js'

/** The DevSys Probot app: wires webhook events, the manager API and the dashboard to their handlers. */
export function devsysApp(deps: AppDeps): ApplicationFunction {
  return async (app, { addHandler }) => {
    for (const subscription of subscriptions) subscription.register(app, deps)
    addHandler(createApiHandler(deps))
    // Roles come from GitHub through the App's own clients, asked afresh for every action.
    const roles = createRoleChecker({ auth: (installationId) => app.auth(installationId) })
    addHandler(createDashboardHandler({ ...deps, roles }))
    // Probot registers an app's webhook URL as the server root; accept deliveries there too.
    if (deps.config.webhookPath !== '/') addHandler(await app.getNodeMiddleware({ path: '/' }))
  }
}
