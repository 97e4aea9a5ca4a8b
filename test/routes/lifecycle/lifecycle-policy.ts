// The sandbox policy with two access bundles, expiry caps per role and reminders: the policy of
// the lifecycle tests.
import { SEED } from '../../../src/graph/simulator/seed.js'
import type { Teardown } from '../../helper.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'

export const { developers, marketing } = SEED.groups
export const { docuSign, jira } = SEED.apps

export function lifecyclePolicy(t: Teardown): Promise<string> {
  return sandboxPolicyWith(t, (p) => {
    p.bundles = [
      { name: 'contractor-dev', description: 'Developers with DocuSign viewing', groups: [developers], appRoles: [{ appId: docuSign.id, appRole: 'DocuSign.Viewer' }], maxDays: 90, grantableBy: ['Groups.ManageMembers'] },
      { name: 'partner-full', groups: [marketing], appRoles: [{ appId: jira.id, appRole: 'User' }], maxDays: 30, grantableBy: ['Groups.ManageMembers'] },
    ]
    p.expiry = { reminderDaysBefore: [7, 1] }
    p.roles['Groups.ManageMembers']!.expiry = { maxDays: 30 }
    p.roles['Apps.AssignRoles']!.expiry = { maxDays: 30 }
    p.roles['Guests.Invite']!.expiry = { maxDays: 60 }
  })
}
