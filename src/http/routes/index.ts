/**
 * @module routes
 * The route table: every route regate serves, one module per area. The security suite walks this list.
 */
import type { Route } from '../env.ts';
import { routes as wellKnown } from './well-known.ts';
import { routes as scim } from './scim.ts';
import { routes as tokens } from './tokens.ts';
import { routes as registeredModels } from './registered-models.ts';
import { routes as modelVersions } from './model-versions.ts';
import { routes as permissions } from './permissions.ts';
import { routes as transitionRequests } from './transition-requests.ts';
import { routes as comments } from './comments.ts';
import { routes as dbfs } from './dbfs.ts';
import { routes as audit } from './audit.ts';
import { routes as artifacts } from './artifacts.ts';
import { routes as signingKeys } from './signing-keys.ts';
import { routes as download } from './download.ts';
import { routes as pages } from '../pages/routes.ts';
import { routes as manifest } from './manifest.ts';
import { routes as webhooks } from './webhooks.ts';

export const ROUTES: readonly Route[] = [
  ...wellKnown,
  ...scim,
  ...tokens,
  ...registeredModels,
  ...modelVersions,
  ...permissions,
  ...transitionRequests,
  ...comments,
  ...dbfs,
  ...audit,
  ...artifacts,
  ...signingKeys,
  ...download,
  ...pages,
  ...manifest,
  ...webhooks,
];
