/**
 * Zone lookup and the header credentials. The simulator stands for every zone host at once: zone 1
 * is served under `/atservicesrest/`, a moved database under `/zone<N>/atservicesrest/`, and the
 * lookup answers with the host the request came to. After a move the old base answers 401, as a
 * real zone move does, until the client looks the zone up again.
 */
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';

export interface ZoneInformation {
  zoneName: string;
  url: string;
  webUrl: string;
  ci: number;
}

const API_PATH = /^\/(?:zone(\d+)\/)?atservicesrest(?:\/(.*))?$/i;

export class Zones {
  readonly #ci: number;
  current = 1;

  constructor(ci: number) {
    this.#ci = ci;
  }

  reset(): void {
    this.current = 1;
  }

  /** Moves the database to the next zone; returns where it now lives. */
  move(): number {
    this.current += 1;
    return this.current;
  }

  basePath(zone = this.current): string {
    return zone === 1 ? '/atservicesrest' : `/zone${zone}/atservicesrest`;
  }

  information(origin: string): ZoneInformation {
    return { zoneName: `Sim Zone ${this.current}`, url: `${origin}${this.basePath()}/`, webUrl: `${origin}/`, ci: this.#ci };
  }

  /** The zone a path addresses and the rest after `atservicesrest/`, or undefined when it is no Autotask path. */
  parse(pathname: string): { zone: number; rest: string } | undefined {
    const match = API_PATH.exec(pathname);
    return match ? { zone: Number(match[1] ?? 1), rest: match[2] ?? '' } : undefined;
  }
}

export function isKnownUser(user: string | undefined): boolean {
  return user?.toLowerCase() === DEFAULT_CREDENTIALS.autotask.username.toLowerCase();
}

/** The API user's three headers (names case-insensitive, as HTTP makes them); the integration code on success. */
export function authenticate(header: (name: string) => string | undefined): { integrationCode: string } | { problem: string } {
  const { username, secret, integrationCode } = DEFAULT_CREDENTIALS.autotask;
  const given = { code: header('ApiIntegrationCode'), user: header('UserName'), secret: header('Secret') };
  if (!given.code || !given.user || !given.secret) return { problem: 'The ApiIntegrationCode, UserName and Secret headers are required.' };
  if (given.user.toLowerCase() !== username.toLowerCase() || given.secret !== secret) return { problem: 'Authentication failed: the user name or secret is not valid.' };
  if (given.code !== integrationCode) return { problem: 'Authentication failed: the API integration code is not valid for this user.' };
  return { integrationCode: given.code };
}
