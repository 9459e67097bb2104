#!/usr/bin/env node
// IAM request evaluator for the VPC Factory emulator (issue 11, "IAM in the emulator").
//
// Reads JSON lines on stdin, writes one JSON line per input line on stdout, in order. It wraps
// @cloud-copilot/iam-simulate (AGPL-3.0-or-later). That licence is fine here: this is a test tool
// run as its own process by the emulator on a developer's machine or in CI; it is never bundled,
// linked or shipped with the Lambda code that `sam build` packages.
//
// Input lines:
//   {"id": 1, "action": "ec2:CreateVpc", "resource": "arn:aws:ec2:us-east-1:123456789012:vpc/*",
//    "resourceAccount": "123456789012", "principal": "arn:aws:iam::123456789012:role/R",
//    "identityPolicies": [<policy doc> | {"name": "n", "policy": <doc>}, ...]   (or "policySet": "<id>"),
//    "resourcePolicy": <doc>?, "permissionBoundaryPolicies": [<doc>...]?,
//    "serviceControlPolicies": [<doc>...]?  (one org level, applied to the account),
//    "context": {"aws:RequestTag/x": "v", "aws:TagKeys": ["a", "b"]},
//    "resourceMode": "literal" (default) | "pattern"}
//     -> {"id": 1, "decision": "Allowed"|"ImplicitlyDenied"|"ExplicitlyDenied"|"Error", "errors": [...],
//         "explain": "...", "ignoredContextKeys": [...], "resourceType": "vpc"}
//   {"batch": [<request>, ...]}                       -> {"results": [<response>, ...]}
//   {"definePolicySet": "<id>", "identityPolicies": [...]}  -> {"defined": "<id>"}: validated once, then
//       requests name it with "policySet": "<id>" instead of carrying "identityPolicies" (the process
//       keeps every set it was given; the Python client defines each distinct set once per process)
//   {"ping": true}                                    -> {"pong": true, "versions": {...}}
//
// resourceMode "literal" (the default) gives AWS's semantics for a request resource that contains
// "*": AWS evaluates e.g. "arn:aws:ec2:us-east-1:123456789012:vpc/*" for ec2:CreateVpc as a literal
// string that policy patterns are matched against. iam-simulate instead reads a "*" in the request
// resource as a question ("is any resource matching this pattern allowed?"), under which a policy
// Resource "…:vpc/vpc-0abc" would allow CreateVpc. "literal" swaps each "*" for a placeholder
// character before simulating (a policy "*" or "?" still matches it, "vpc-*" does not) and swaps it
// back in the output. "pattern" passes the resource through unchanged.
//
// Never exits on a bad line: the answer carries "decision": "Error" and "errors".

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'

// The packages' CommonJS builds (each ships both): a CommonJS module's exports can be wrapped, which
// the memo below needs; the ES module build's bindings cannot.
const require = createRequire(import.meta.url)
const { createValidatedPolicy, validateIdentityPolicy } = require('@cloud-copilot/iam-policy')
const { getDenialReasons, getGrantReasons, runSimulation } = require('@cloud-copilot/iam-simulate')

// Every request asks iam-simulate which of the action's resource types its resource ARN is
// (getResourceTypesForAction): the ARN is matched against each type's pattern by intersecting
// automata, about half of this process's CPU. The answer depends on (service, action, resource)
// only (iam-data is static, and neither caller changes the list or its items), and a build asks
// it again for the same ARN: a bounded memo answers those. A lookup that fails is not kept (as
// iam-data keeps no failed read): the next request asks again. The engine and the context-key check call it
// through the module's exports object (`(0, resourceTypes_js_1.getResourceTypesForAction)(...)`),
// so replacing the export is seen by both.
const resourceTypesModule = require(
  join(dirname(require.resolve('@cloud-copilot/iam-simulate')), 'simulation_engine', 'resourceTypes.js')
)
const MEMO_LIMIT = 20000
const resourceTypesMemo = new Map()
const resourceTypesOf = resourceTypesModule.getResourceTypesForAction
if (typeof resourceTypesOf !== 'function') throw new Error('iam-simulate changed: no getResourceTypesForAction to memoize')
resourceTypesModule.getResourceTypesForAction = (service, action, resource) => {
  const key = `${service}\u0000${action}\u0000${resource}`
  let answer = resourceTypesMemo.get(key)
  if (answer === undefined) {
    if (resourceTypesMemo.size >= MEMO_LIMIT) resourceTypesMemo.clear()
    answer = resourceTypesOf(service, action, resource)
    resourceTypesMemo.set(key, answer)
    answer.catch(() => resourceTypesMemo.delete(key))
  }
  return answer
}

const LITERAL_STAR = '\u2731' // HEAVY ASTERISK: one UTF-16 unit, matched by a policy "*" or "?"
const policySets = new Map()

// iam-policy does not check condition operator names, and iam-simulate then treats a statement with an
// unknown operator as not matching: a misspelt Deny would silently not apply. AWS refuses such a policy
// (MalformedPolicyDocument), so it is a validation error here too.
const OPERATOR = new RegExp(
  '^(ForAllValues:|ForAnyValue:)?(' +
    [
      'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike',
      'StringNotLike', 'NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals',
      'NumericGreaterThan', 'NumericGreaterThanEquals', 'DateEquals', 'DateNotEquals', 'DateLessThan',
      'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals', 'Bool', 'BinaryEquals', 'IpAddress',
      'NotIpAddress', 'ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike'
    ].join('|') +
    ')(IfExists)?$|^Null$',
  'i'
)

function unknownConditionOperators(policy) {
  const errors = []
  const statements = policy && typeof policy === 'object' ? [policy.Statement ?? []].flat() : []
  statements.forEach((statement, index) => {
    const condition = statement && typeof statement === 'object' ? statement.Condition : undefined
    if (!condition || typeof condition !== 'object') return
    for (const operator of Object.keys(condition)) {
      if (!OPERATOR.test(operator)) {
        errors.push({ path: `Statement[${index}].Condition.${operator}`, message: `unknown condition operator ${operator}` })
      }
    }
  })
  return errors
}

const validateIdentity = (policy) => [...validateIdentityPolicy(policy), ...unknownConditionOperators(policy)]

function asNamedPolicies(list, prefix) {
  if (list === undefined || list === null) return []
  if (!Array.isArray(list)) throw new Error(`${prefix}: expected a list of policy documents`)
  return list.map((item, index) => {
    const named =
      item && typeof item === 'object' && 'policy' in item && 'name' in item
        ? item
        : { name: `${prefix}${index + 1}`, policy: item }
    return { name: named.name, policy: createValidatedPolicy(named.policy, validateIdentity) }
  })
}

function identityPoliciesOf(request) {
  if (request.policySet !== undefined) {
    const set = policySets.get(request.policySet)
    if (!set) throw new Error(`unknown policySet ${JSON.stringify(request.policySet)}: define it first`)
    return set
  }
  return asNamedPolicies(request.identityPolicies, 'identity-policy-')
}

function requireString(request, key) {
  const value = request[key]
  if (typeof value !== 'string' || value === '') throw new Error(`"${key}" must be a non-empty string`)
  return value
}

function normalizeContext(context) {
  if (context === undefined || context === null) return {}
  if (typeof context !== 'object' || Array.isArray(context)) throw new Error('"context" must be an object')
  const out = {}
  for (const [key, value] of Object.entries(context)) {
    if (Array.isArray(value)) out[key] = value.map(String)
    else if (value === null || value === undefined) continue
    else out[key] = String(value) // booleans and numbers as IAM sees them: "true", "42"
  }
  return out
}

const restoreStar = (text) => (typeof text === 'string' ? text.replaceAll(LITERAL_STAR, '*') : text)

function statementLabel(reason) {
  const where =
    reason.policyType === 'identity' || reason.policyType === 'pb' || reason.policyType === 'vpce'
      ? `${reason.policyType}:${reason.policyIdentifier}`
      : reason.policyType === 'scp' || reason.policyType === 'rcp'
        ? `${reason.policyType}:${reason.orgIdentifier}/${reason.policyIdentifier}`
        : reason.policyType
  const sid = reason.statementId ? ` Sid=${reason.statementId}` : ''
  return `${where} statement #${reason.statementIndex}${sid}`
}

function explainAnalyses(analyses) {
  const parts = new Set()
  for (const analysis of analyses) {
    if (analysis.sameAccount === false) parts.add('cross-account request (a resource policy must allow it too)')
    for (const deny of getDenialReasons(analysis)) {
      if (deny.denialType === 'Explicit') parts.add(`denied by ${statementLabel(deny)}`)
      else parts.add(`no allow in ${deny.policyType}${deny.identifier ? `:${deny.identifier}` : ''}`)
    }
    if (analysis.result === 'Allowed') {
      for (const grant of getGrantReasons(analysis)) parts.add(`allowed by ${statementLabel(grant)}`)
    }
  }
  return [...parts].join('; ')
}

function flattenErrors(errors) {
  const out = [errors.message]
  for (const [key, value] of Object.entries(errors)) {
    if (key === 'message') continue
    if (Array.isArray(value)) out.push(...value.map((e) => `${key}: ${e.message ?? JSON.stringify(e)}`))
    else if (value && typeof value === 'object') {
      for (const [name, list] of Object.entries(value)) {
        for (const e of list) out.push(`${key} ${name}: ${e.message ?? JSON.stringify(e)}${e.path ? ` at ${e.path}` : ''}`)
      }
    }
  }
  return out
}

async function evaluate(request) {
  const id = request?.id ?? null
  try {
    if (!request || typeof request !== 'object' || Array.isArray(request)) throw new Error('request must be an object')
    const action = requireString(request, 'action')
    const resource = requireString(request, 'resource')
    const principal = requireString(request, 'principal')
    const accountId = String(request.resourceAccount ?? resource.split(':')[4] ?? '')
    const mode = request.resourceMode ?? 'literal'
    if (mode !== 'literal' && mode !== 'pattern') throw new Error('"resourceMode" must be "literal" or "pattern"')
    const simulatedResource = mode === 'literal' && resource !== '*' ? resource.replaceAll('*', LITERAL_STAR) : resource
    const scps = asNamedPolicies(request.serviceControlPolicies, 'scp-')
    const simulation = {
      request: {
        principal,
        action,
        resource: { resource: simulatedResource, accountId },
        contextVariables: normalizeContext(request.context)
      },
      identityPolicies: identityPoliciesOf(request),
      serviceControlPolicies: scps.length ? [{ orgIdentifier: accountId, policies: scps }] : [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy ?? undefined,
      permissionBoundaryPolicies:
        request.permissionBoundaryPolicies === undefined
          ? undefined
          : asNamedPolicies(request.permissionBoundaryPolicies, 'permission-boundary-')
    }
    const response = await runSimulation(simulation, { simulationMode: 'Strict' })
    if (response.resultType === 'error') {
      return { id, decision: 'Error', errors: flattenErrors(response.errors), explain: '' }
    }
    const results = response.resultType === 'single' ? [response.result] : response.results
    const ignored = [...new Set(results.flatMap((r) => r.ignoredContextKeys ?? []))]
    const resourceTypes = [...new Set(results.map((r) => r.resourceType).filter(Boolean))]
    return {
      id,
      decision: response.overallResult,
      errors: [],
      explain:
        results.length === 0
          ? 'no policy resource pattern overlaps the request resource'
          : restoreStar(explainAnalyses(results.map((r) => r.analysis))),
      ignoredContextKeys: ignored,
      resourceType: resourceTypes.join(',') || null
    }
  } catch (error) {
    return { id, decision: 'Error', errors: [String(error?.message ?? error)], explain: '' }
  }
}

async function handleLine(line) {
  let message
  try {
    message = JSON.parse(line)
  } catch (error) {
    return { id: null, decision: 'Error', errors: [`invalid JSON: ${error.message}`], explain: '' }
  }
  if (message && typeof message === 'object' && !Array.isArray(message)) {
    if (message.ping) {
      const versions = {}
      for (const name of ['iam-simulate', 'iam-data', 'iam-policy']) {
        try {
          const url = new URL(`./node_modules/@cloud-copilot/${name}/package.json`, import.meta.url)
          versions[name] = JSON.parse(readFileSync(url, 'utf8')).version
        } catch {
          versions[name] = null
        }
      }
      return { pong: true, versions }
    }
    if (message.definePolicySet !== undefined) {
      try {
        // Validated once here (asNamedPolicies), not again for every request that refers to the set.
        policySets.set(message.definePolicySet, asNamedPolicies(message.identityPolicies, 'identity-policy-'))
        return { defined: message.definePolicySet }
      } catch (error) {
        return { defined: null, errors: [String(error.message)] }
      }
    }
    if (message.batch !== undefined) {
      if (!Array.isArray(message.batch)) return { results: [], errors: ['"batch" must be a list'] }
      const results = []
      for (const request of message.batch) results.push(await evaluate(request))
      return { results }
    }
  }
  return evaluate(message)
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })
// Answer strictly in order: handle one line at a time.
let queue = Promise.resolve()
lines.on('line', (line) => {
  if (line.trim() === '') return
  queue = queue.then(async () => {
    let answer
    try {
      answer = await handleLine(line)
    } catch (error) {
      answer = { id: null, decision: 'Error', errors: [`internal error: ${error?.message ?? error}`], explain: '' }
    }
    process.stdout.write(JSON.stringify(answer) + '\n')
  })
})
lines.on('close', () => queue.then(() => process.exit(0)))
process.stdout.on('error', () => process.exit(0)) // the parent went away
