import type { Db } from '../db/connection.ts';
import { createPartnerProfileActivities } from './partner-profile.ts';

export function createActivities(db: Db) {
  return { ...createPartnerProfileActivities(db) };
}
