/**
 * @module principal
 * Who is calling: a user or service principal, with the groups it belongs to (transitively), and the
 * workspace epochs the request read, against which every cached decision for it is checked.
 */
import type { Epochs } from '../access/epoch.ts';

export type PrincipalKind = 'user' | 'service_principal' | 'group';

export interface PrincipalRow {
  id: string;
  kind: PrincipalKind;
  name: string;
  display_name: string;
  active: number;
  created_at: number;
}

export interface Principal {
  id: string;
  kind: 'user' | 'service_principal';
  /** userName for users, applicationId for service principals: what `user_id` fields show. */
  name: string;
  displayName: string;
  /** Every group the principal is in, directly or through nested groups. */
  groupIds: string[];
  isAdmin: boolean;
  /** The workspace epochs read at the start of this request (see access/epoch.ts). */
  epochs: Epochs;
}

/** Built-in groups, as in a Databricks workspace. Every user and service principal is put in `users`. */
export const ADMINS_GROUP = 'admins';
export const USERS_GROUP = 'users';
