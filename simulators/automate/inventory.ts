import type { Hono } from 'hono';
import { z } from 'zod';
import type { AcronisAgentHost } from '../world.ts';
import { machineKeyOf } from './acronis-plugin.ts';
import { AutomateHttpError, bindJson, caseless, idParam, notFound, numericId, reference } from './http.ts';
import { listResponse } from './listing.ts';
import { isoOf, type AddressFields, type AutomateStore, type ClientRecord, type ComputerRecord, type LocationRecord, type NetworkDeviceRecord } from './store.ts';

/** The Automate agent build every simulated computer reports. */
const REMOTE_AGENT_VERSION = '230.105';

const text = z.string().nullable().optional();
const addressFields = { Address1: text, Address2: text, City: text, State: text, ZipCode: text, Country: text, PhoneNumber: text };
const clientBody = z.object({ Name: z.string().trim().min(1), Company: text, ExternalId: numericId.nullable().optional(), Comment: text, ...addressFields });
const locationBody = z
  .object({ Name: z.string().trim().min(1), Client: reference.optional(), ClientId: numericId.optional(), ProbeId: numericId.optional(), ExternalId: numericId.nullable().optional(), Comment: text, ...addressFields })
  .refine((body) => body.Client !== undefined || body.ClientId !== undefined, { message: 'Client is required', path: ['Client'] });
const networkDeviceBody = z
  .object({ Name: z.string().trim().min(1), Location: reference.optional(), LocationId: numericId.optional(), LocalIPAddress: text, MACAddress: text, DeviceType: text, DetectionTemplateName: text, Status: text })
  .refine((body) => body.Location !== undefined || body.LocationId !== undefined, { message: 'Location is required', path: ['Location'] });
/** `LabTech.RESTApi.Models.PatchOperation`: Automate's PATCH takes JSON-Patch style operations. */
const patchOperations = z.array(z.object({ op: z.string(), path: z.string(), value: z.unknown() })).min(1);

function addressOf(body: Partial<Record<keyof AddressFields, string | null | undefined>>): AddressFields {
  return {
    Address1: body.Address1 ?? null,
    Address2: body.Address2 ?? null,
    City: body.City ?? null,
    State: body.State ?? null,
    ZipCode: body.ZipCode ?? null,
    Country: body.Country ?? null,
    PhoneNumber: body.PhoneNumber ?? null,
  };
}

export function requireClient(store: AutomateStore, id: number): ClientRecord {
  const client = store.clients.get(id);
  if (!client) throw notFound(`Client ${id}`);
  return client;
}

export function requireLocation(store: AutomateStore, id: number): LocationRecord {
  const location = store.locations.get(id);
  if (!location) throw notFound(`Location ${id}`);
  return location;
}

export function requireComputer(store: AutomateStore, id: number): ComputerRecord {
  const computer = store.computers.get(id);
  if (!computer) throw notFound(`Computer ${id}`);
  return computer;
}

export const clientReference = (store: AutomateStore, id: number) => ({ Id: id, Name: store.clients.get(id)?.Name ?? null });
export const locationReference = (store: AutomateStore, id: number) => ({ Id: id, Name: store.locations.get(id)?.Name ?? null });
export const computerReference = (store: AutomateStore, id: number) => ({ Id: id, Name: store.computers.get(id)?.name ?? store.retiredAssets.get(id)?.computer.name ?? null });

export function renderClient(store: AutomateStore, client: ClientRecord) {
  const locations = [...store.locations.values()].filter((location) => location.ClientId === client.Id).map((location) => ({ Id: location.Id, Name: location.Name }));
  return { ...client, Locations: locations };
}

export function renderLocation(store: AutomateStore, location: LocationRecord) {
  const { ClientId, ...fields } = location;
  return { ...fields, Client: clientReference(store, ClientId) };
}

/** `LabTech.Models.Computer`; an online agent has just checked in, an offline one keeps its last contact. */
export function renderComputer(store: AutomateStore, computer: ComputerRecord) {
  const lastContact = isoOf(computer.online ? store.nowMs() : computer.lastContactMs);
  return {
    Id: computer.id,
    ComputerName: computer.name,
    FriendlyName: computer.name,
    Client: clientReference(store, computer.clientId),
    Location: locationReference(store, computer.locationId),
    Type: computer.type,
    OperatingSystemName: computer.os,
    OperatingSystemVersion: computer.osVersion,
    DomainName: computer.domainName,
    Status: computer.online ? 'Online' : 'Offline',
    RemoteAgentLastContact: lastContact,
    LastHeartbeat: lastContact,
    RemoteAgentVersion: REMOTE_AGENT_VERSION,
    LastInventoryReceived: isoOf(computer.lastInventoryMs),
    DateAdded: isoOf(computer.addedMs),
    SerialNumber: computer.serialNumber,
    MACAddress: computer.macAddress,
    LocalIPAddress: computer.localIpAddress,
    GatewayIPAddress: computer.localIpAddress.replace(/\.\d+$/, '.1'),
    AssetTag: null,
    LastUserName: computer.type === 'Server' ? 'Administrator' : `${computer.name.toLowerCase()}\\user`,
    LoggedInUsers: computer.online ? [{ LoggedInUserName: computer.type === 'Server' ? 'Administrator' : 'user' }] : [],
    IsVirtualMachine: computer.isVirtualMachine,
    IsMaster: false,
    IsNetworkProbe: false,
    IsMaintenanceModeEnabled: false,
    IsRebootNeeded: false,
    Comment: null,
    VirusScanner: null,
    TotalMemory: computer.type === 'Server' ? 32_768 : 16_384,
    FreeMemory: computer.type === 'Server' ? 12_288 : 6_144,
    OpenPortsTCP: computer.type === 'Server' ? [135, 443, 445, 3389] : [135, 445],
    OpenPortsUDP: [137, 138],
  };
}

function renderNetworkDevice(store: AutomateStore, device: NetworkDeviceRecord) {
  const { LocationId, ...fields } = device;
  return { ...fields, Location: locationReference(store, LocationId) };
}

/** Applies `replace` operations to top-level fields that `schema` accepts in full. */
function patched(current: object, operations: z.output<typeof patchOperations>, fields: readonly string[]): Record<string, unknown> {
  const next: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  for (const operation of operations) {
    const name = fields.find((field) => field.toLowerCase() === operation.path.replace(/^\//, '').toLowerCase());
    if (operation.op.toLowerCase() !== 'replace' || !name) throw new AutomateHttpError(400, `Unsupported patch operation '${operation.op} ${operation.path}'.`);
    next[name] = operation.value;
  }
  return next;
}

const CLIENT_FIELDS = ['Name', 'Company', 'ExternalId', 'Comment', ...Object.keys(addressFields)] as const;
const LOCATION_FIELDS = ['Name', 'ProbeId', 'ExternalId', 'Comment', ...Object.keys(addressFields)] as const;

export function registerInventoryRoutes(app: Hono, store: AutomateStore, agents: AcronisAgentHost): void {
  const saveClient = (id: number, body: z.output<typeof clientBody>, created: string): ClientRecord => {
    const client: ClientRecord = { Id: id, Name: body.Name, Company: body.Company ?? null, ExternalId: body.ExternalId ?? null, Comment: body.Comment ?? null, DateCreated: created, ...addressOf(body) };
    store.clients.set(id, client);
    return client;
  };
  const saveLocation = (id: number, body: z.output<typeof locationBody>): LocationRecord => {
    const clientId = body.Client?.Id ?? body.ClientId ?? 0;
    if (!store.clients.has(clientId)) throw new AutomateHttpError(400, `Client ${clientId} was not found.`);
    const location: LocationRecord = { Id: id, ClientId: clientId, Name: body.Name, ProbeId: body.ProbeId ?? 0, ExternalId: body.ExternalId ?? null, Comment: body.Comment ?? null, ...addressOf(body) };
    store.locations.set(id, location);
    return location;
  };

  app.get(caseless('/Clients'), (c) => listResponse(c, [...store.clients.values()].map((client) => renderClient(store, client))));
  app.post(caseless('/Clients'), async (c) => {
    const client = saveClient(store.nextId('client'), await bindJson(c, clientBody), isoOf(store.nowMs()));
    return c.json(renderClient(store, client));
  });
  app.get(caseless('/Clients/:clientId'), (c) => c.json(renderClient(store, requireClient(store, idParam(c, 'clientId')))));
  app.put(caseless('/Clients/:clientId'), async (c) => {
    const current = requireClient(store, idParam(c, 'clientId'));
    return c.json(renderClient(store, saveClient(current.Id, await bindJson(c, clientBody), current.DateCreated)));
  });
  app.patch(caseless('/Clients/:clientId'), async (c) => {
    const current = requireClient(store, idParam(c, 'clientId'));
    const next = clientBody.safeParse(patched(current, await bindJson(c, patchOperations), CLIENT_FIELDS));
    if (!next.success) throw new AutomateHttpError(400, `The patched client is invalid: ${next.error.issues[0]?.message ?? 'invalid'}.`);
    return c.json(renderClient(store, saveClient(current.Id, next.data, current.DateCreated)));
  });
  app.delete(caseless('/Clients/:clientId'), (c) => {
    const client = requireClient(store, idParam(c, 'clientId'));
    if ([...store.computers.values()].some((computer) => computer.clientId === client.Id)) throw new AutomateHttpError(400, `Client ${client.Id} still has computers.`);
    for (const location of store.locations.values()) if (location.ClientId === client.Id) store.locations.delete(location.Id);
    store.clients.delete(client.Id);
    return c.body(null, 204);
  });

  app.get(caseless('/Locations'), (c) => listResponse(c, [...store.locations.values()].map((location) => renderLocation(store, location))));
  app.post(caseless('/Locations'), async (c) => c.json(renderLocation(store, saveLocation(store.nextId('location'), await bindJson(c, locationBody)))));
  app.get(caseless('/Locations/:locationId'), (c) => c.json(renderLocation(store, requireLocation(store, idParam(c, 'locationId')))));
  app.put(caseless('/Locations/:locationId'), async (c) => {
    const current = requireLocation(store, idParam(c, 'locationId'));
    return c.json(renderLocation(store, saveLocation(current.Id, await bindJson(c, locationBody))));
  });
  app.patch(caseless('/Locations/:locationId'), async (c) => {
    const current = requireLocation(store, idParam(c, 'locationId'));
    const next = locationBody.safeParse(patched(current, await bindJson(c, patchOperations), LOCATION_FIELDS));
    if (!next.success) throw new AutomateHttpError(400, `The patched location is invalid: ${next.error.issues[0]?.message ?? 'invalid'}.`);
    return c.json(renderLocation(store, saveLocation(current.Id, next.data)));
  });
  app.delete(caseless('/Locations/:locationId'), (c) => {
    const location = requireLocation(store, idParam(c, 'locationId'));
    if ([...store.computers.values()].some((computer) => computer.locationId === location.Id)) throw new AutomateHttpError(400, `Location ${location.Id} still has computers.`);
    store.locations.delete(location.Id);
    return c.body(null, 204);
  });

  app.get(caseless('/Computers'), (c) => listResponse(c, [...store.computers.values()].map((computer) => renderComputer(store, computer))));
  app.get(caseless('/Computers/:computerId'), (c) => c.json(renderComputer(store, requireComputer(store, idParam(c, 'computerId')))));
  app.get(caseless('/Computers/:computerId/Software'), (c) => {
    const computer = requireComputer(store, idParam(c, 'computerId'));
    const agent = agents.agentOf(machineKeyOf(store, computer.id));
    const software = [
      ...(agent ? [{ Id: 1, Name: 'Acronis Cyber Protect Agent', Version: agent.version, Publisher: 'Acronis' }] : []),
      ...(computer.backupMonitorInstalled ? [{ Id: 2, Name: 'Acronis Backup Monitor', Version: agent?.version ?? null, Publisher: 'Acronis' }] : []),
    ];
    return listResponse(c, software);
  });

  app.get(caseless('/NetworkDevices'), (c) => listResponse(c, [...store.networkDevices.values()].map((device) => renderNetworkDevice(store, device))));
  app.get(caseless('/NetworkDevices/:deviceId'), (c) => {
    const device = store.networkDevices.get(idParam(c, 'deviceId'));
    if (!device) throw notFound('Network device');
    return c.json(renderNetworkDevice(store, device));
  });
  app.post(caseless('/NetworkDevices'), async (c) => {
    const body = await bindJson(c, networkDeviceBody);
    const locationId = body.Location?.Id ?? body.LocationId ?? 0;
    if (!store.locations.has(locationId)) throw new AutomateHttpError(400, `Location ${locationId} was not found.`);
    const device: NetworkDeviceRecord = {
      Id: store.nextId('networkDevice'),
      Name: body.Name,
      LocationId: locationId,
      LocalIPAddress: body.LocalIPAddress ?? null,
      MACAddress: body.MACAddress ?? null,
      DeviceType: body.DeviceType ?? null,
      DetectionTemplateName: body.DetectionTemplateName ?? null,
      Status: body.Status ?? 'Online',
    };
    store.networkDevices.set(device.Id, device);
    return c.json(renderNetworkDevice(store, device));
  });

  app.get(caseless('/RetiredAssets'), (c) =>
    listResponse(
      c,
      [...store.retiredAssets.values()].map(({ computer, retiredMs }) => ({
        Id: computer.id,
        Name: computer.name,
        Client: clientReference(store, computer.clientId),
        Location: locationReference(store, computer.locationId),
        OperatingSystemName: computer.os,
        SerialNumber: computer.serialNumber,
        MACAddress: computer.macAddress,
        RetiredDate: isoOf(retiredMs),
      })),
    ),
  );
}
