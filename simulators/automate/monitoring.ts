import type { Hono } from 'hono';
import { PLUGIN_MONITORS } from './acronis-plugin.ts';
import { automateError, caseless, idParam, notFound } from './http.ts';
import { clientReference, computerReference, locationReference, requireComputer } from './inventory.ts';
import { listResponse } from './listing.ts';
import { isoOf, type AlertRecord, type AutomateStore, type TicketRecord } from './store.ts';

export interface RaisedAlert {
  computerId: number;
  monitor: string;
  severity: string;
  message: string;
  fieldName?: string;
  ticket?: { subject?: string; externalId?: number; priority?: string };
}

/** What a monitor does inside Automate: raise an alert and, by its alert template, a ticket. */
export function raiseMonitorAlert(store: AutomateStore, raised: RaisedAlert): { alert: AlertRecord; ticket: TicketRecord | undefined } {
  const monitor = PLUGIN_MONITORS.find((candidate) => candidate.Name.toLowerCase() === raised.monitor.toLowerCase());
  if (!monitor) throw new Error(`unknown monitor '${raised.monitor}'`);
  const now = store.nowMs();
  const alert: AlertRecord = { id: store.nextId('alert'), computerId: raised.computerId, monitorId: monitor.Id, severity: raised.severity, message: raised.message, fieldName: raised.fieldName ?? null, dateMs: now };
  store.alerts.set(alert.id, alert);
  let ticket: TicketRecord | undefined;
  if (raised.ticket) {
    ticket = {
      id: store.nextId('ticket'),
      computerId: raised.computerId,
      monitorId: monitor.Id,
      subject: raised.ticket.subject ?? `${monitor.Name}: ${raised.message}`,
      status: 'New',
      priority: raised.ticket.priority ?? (raised.severity === 'Critical' ? 'High' : 'Medium'),
      categoryId: 12,
      categoryName: 'Backup',
      externalId: raised.ticket.externalId ?? null,
      startMs: now,
      updateMs: now,
      comments: [raised.message],
    };
    store.tickets.set(ticket.id, ticket);
  }
  return { alert, ticket };
}

/** Placement of a computer that may have been retired since the alert was raised. */
function placementOf(store: AutomateStore, computerId: number) {
  const computer = store.computers.get(computerId) ?? store.retiredAssets.get(computerId)?.computer;
  return {
    Client: computer ? clientReference(store, computer.clientId) : null,
    Computer: computerReference(store, computerId),
    Location: computer ? locationReference(store, computer.locationId) : null,
  };
}

/** .NET TimeSpan text, `d.hh:mm:ss`. */
function timeSpan(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const pad = (value: number) => String(value).padStart(2, '0');
  const days = Math.floor(seconds / 86_400);
  return `${days > 0 ? `${days}.` : ''}${pad(Math.floor(seconds / 3600) % 24)}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
}

function renderAlert(store: AutomateStore, alert: AlertRecord) {
  const monitor = PLUGIN_MONITORS.find((candidate) => candidate.Id === alert.monitorId);
  return {
    AlertId: alert.id,
    ...placementOf(store, alert.computerId),
    Device: null,
    Monitor: { Id: alert.monitorId, Name: monitor?.Name ?? null },
    AlertDate: isoOf(alert.dateMs),
    Severity: alert.severity,
    Source: 'Internal Monitor',
    Message: alert.message,
    FieldName: alert.fieldName,
    AlertAge: timeSpan(store.nowMs() - alert.dateMs),
  };
}

function renderTicket(store: AutomateStore, ticket: TicketRecord) {
  return {
    TicketId: ticket.id,
    Subject: ticket.subject,
    ...placementOf(store, ticket.computerId),
    Status: ticket.status,
    Priority: ticket.priority,
    CategoryId: ticket.categoryId,
    CategoryName: ticket.categoryName,
    MonitorId: ticket.monitorId,
    ExternalId: ticket.externalId,
    StartDate: isoOf(ticket.startMs),
    UpdateDate: isoOf(ticket.updateMs),
    DueDate: null,
    Comments: ticket.comments.map((comment) => ({ Comment: comment })),
  };
}

/** Read-only, as in the vendor's API: any write is refused the way ASP.NET refuses an unknown verb. */
export function registerMonitoringRoutes(app: Hono, store: AutomateStore): void {
  for (const path of ['/Tickets', '/Tickets/:ticketId', '/Alerts', '/Alerts/:alertId']) {
    app.on(['POST', 'PUT', 'PATCH', 'DELETE'], caseless(path), (c) => automateError(c, 405, `The requested resource does not support http method '${c.req.method}'.`));
  }
  app.get(caseless('/Tickets'), (c) => listResponse(c, [...store.tickets.values()].map((ticket) => renderTicket(store, ticket)), 'TicketId'));
  app.get(caseless('/Tickets/:ticketId'), (c) => {
    const ticket = store.tickets.get(idParam(c, 'ticketId'));
    if (!ticket) throw notFound('Ticket');
    return c.json(renderTicket(store, ticket));
  });
  app.get(caseless('/Alerts'), (c) => listResponse(c, [...store.alerts.values()].map((alert) => renderAlert(store, alert)), 'AlertId'));
  app.get(caseless('/Alerts/:alertId'), (c) => {
    const alert = store.alerts.get(idParam(c, 'alertId'));
    if (!alert) throw notFound('Alert');
    return c.json(renderAlert(store, alert));
  });
  app.get(caseless('/Computers/:computerId/Alerts'), (c) => {
    const computer = requireComputer(store, idParam(c, 'computerId'));
    return listResponse(c, [...store.alerts.values()].filter((alert) => alert.computerId === computer.id).map((alert) => renderAlert(store, alert)), 'AlertId');
  });
}
