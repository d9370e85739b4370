// `switchyard explain` whole: the service ports from the pins (explain.ts), and, when the agent
// answers on its admin endpoint, the drift against what it wants (agent-drift.ts) and the errors
// it logged for the Service. With the agent down, the pins alone, said in one line.
import type { LoggedError } from '../inspect/admin.js';
import type { MapContents } from '../inspect/views.js';
import { agentDrift } from './agent-drift.js';
import { askAgent, errorsFor } from './agent-client.js';
import { explain, type Explained } from './explain.js';
import { renderExplained } from './render.js';

export interface ExplainReport {
  agent: { url: string; answered: boolean; why?: string };
  servicePorts: Explained[];
  /** What the agent wants that the maps do not hold, one line each; absent without an agent. */
  agentDrift?: string[];
  /** The errors the agent logged for the Service, oldest first; absent without an agent. */
  agentErrors?: LoggedError[];
}

export async function explainReport(m: MapContents, query: string, agentUrl: string): Promise<ExplainReport> {
  const service = query.replace(/:[^/:]*$/, '');
  const answer = await askAgent(agentUrl, service.includes('/') ? service : undefined);
  const servicePorts = explain(m, query);
  if (!answer.answered) return { agent: { url: agentUrl, answered: false, why: answer.why }, servicePorts };
  return {
    agent: { url: agentUrl, answered: true },
    servicePorts,
    agentDrift: agentDrift(answer.wants.servicePorts, m, query),
    agentErrors: errorsFor(answer.errors, service),
  };
}

/** Whether there is anything to show: a service port in the maps, or the agent's word on it. */
export const reportFound = (r: ExplainReport) =>
  r.servicePorts.length > 0 || (r.agentDrift?.length ?? 0) > 0 || (r.agentErrors?.length ?? 0) > 0;

export function renderReport(r: ExplainReport, where: string, query: string): string {
  const out = r.servicePorts.map((e) => renderExplained(e, where));
  const lines: string[] = [];
  if (!r.agent.answered) {
    lines.push(
      `Agent: not answering at ${r.agent.url} (${r.agent.why}): from the pins only, no drift against what it wants`,
    );
  } else {
    const drift = r.agentDrift ?? [];
    lines.push(
      drift.length
        ? `Agent (${r.agent.url}): ${drift.length} difference(s) between what it wants and the maps:`
        : `Agent (${r.agent.url}): the maps hold what it wants for ${query}`,
    );
    for (const d of drift) lines.push(`  ✗ ${d}`);
    const errors = r.agentErrors ?? [];
    lines.push(errors.length ? `  Errors it logged for ${query}:` : `  Errors it logged for ${query}: none`);
    for (const e of errors)
      lines.push(`    ${e.time} ${e.kind} ${e.object}: ${e.field ? `${e.field}: ` : ''}${e.message}`);
  }
  out.push(`${lines.join('\n')}\n`);
  return out.join('\n');
}
