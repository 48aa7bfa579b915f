/**
 * @module policy.test
 * The ability table of share-mlflow-models.txt ("MLflow Model permissions"), written out by hand, level by
 * level, against the pure `decide` and `requiredLevel`. Each row string has one mark per level, in the
 * order No Permissions, Can Read, Can Edit, Can Manage Staging Versions, Can Manage Production Versions,
 * Can Manage: `h` hidden (answered as a missing model), `d` denied (403), `a` allowed.
 */
import { describe, expect, it } from 'vitest';
import { decide, requiredLevel, type Ability, type Decision } from '../../src/core/access/policy.ts';
import type { Level } from '../../src/core/access/levels.ts';
import type { Stage } from '../../src/core/registry/stages.ts';

const LEVEL_COLUMNS: Level[] = [
  'NO_PERMISSIONS',
  'CAN_READ',
  'CAN_EDIT',
  'CAN_MANAGE_STAGING_VERSIONS',
  'CAN_MANAGE_PRODUCTION_VERSIONS',
  'CAN_MANAGE',
];

const MARK: Record<string, Decision> = { h: 'hidden', d: 'denied', a: 'allow' };

interface Row {
  row: string;
  ability: Ability;
  marks: string;
  lowest: Level;
}

// One line per row of the seed's table (transitions and approvals are tabled per stage pair below).
const ROWS: Row[] = [
  { row: 'View model details, versions, requests, activities, download URIs', ability: { kind: 'view' }, marks: 'haaaaa', lowest: 'CAN_READ' },
  { row: 'Request a model version stage transition', ability: { kind: 'request_transition' }, marks: 'haaaaa', lowest: 'CAN_READ' },
  { row: 'Add a version to a model', ability: { kind: 'add_version' }, marks: 'hdaaaa', lowest: 'CAN_EDIT' },
  { row: 'Update model and version description', ability: { kind: 'update_description' }, marks: 'hdaaaa', lowest: 'CAN_EDIT' },
  { row: 'Add or edit tags for a model or model version', ability: { kind: 'edit_tags' }, marks: 'hdaaaa', lowest: 'CAN_EDIT' },
  { row: 'Cancel a transition request (not its creator)', ability: { kind: 'cancel_request', isRequestCreator: false }, marks: 'hdddda', lowest: 'CAN_MANAGE' },
  { row: 'Cancel a transition request (its creator)', ability: { kind: 'cancel_request', isRequestCreator: true }, marks: 'haaaaa', lowest: 'CAN_READ' },
  { row: 'Rename model', ability: { kind: 'rename' }, marks: 'hdddda', lowest: 'CAN_MANAGE' },
  { row: 'Modify permissions', ability: { kind: 'modify_permissions' }, marks: 'hdddda', lowest: 'CAN_MANAGE' },
  { row: 'Delete model and model versions', ability: { kind: 'delete' }, marks: 'hdddda', lowest: 'CAN_MANAGE' },
];

// "Transition model version between stages": Can Manage Staging Versions only between None, Archived and
// Staging; Can Manage Production Versions and Can Manage for every pair. Same-stage pairs follow the rule too.
const STAGE_PAIRS: Array<{ from: Stage; to: Stage; marks: string; lowest: Level }> = [
  { from: 'None', to: 'None', marks: 'hddaaa', lowest: 'CAN_MANAGE_STAGING_VERSIONS' },
  { from: 'None', to: 'Staging', marks: 'hddaaa', lowest: 'CAN_MANAGE_STAGING_VERSIONS' },
  { from: 'None', to: 'Archived', marks: 'hddaaa', lowest: 'CAN_MANAGE_STAGING_VERSIONS' },
  { from: 'None', to: 'Production', marks: 'hdddaa', lowest: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
  { from: 'Staging', to: 'None', marks: 'hddaaa', lowest: 'CAN_MANAGE_STAGING_VERSIONS' },
  { from: 'Staging', to: 'Staging', marks: 'hddaaa', lowest: 'CAN_MANAGE_STAGING_VERSIONS' },
  { from: 'Staging', to: 'Archived', marks: 'hddaaa', lowest: 'CAN_MANAGE_STAGING_VERSIONS' },
  { from: 'Staging', to: 'Production', marks: 'hdddaa', lowest: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
  { from: 'Archived', to: 'None', marks: 'hddaaa', lowest: 'CAN_MANAGE_STAGING_VERSIONS' },
  { from: 'Archived', to: 'Staging', marks: 'hddaaa', lowest: 'CAN_MANAGE_STAGING_VERSIONS' },
  { from: 'Archived', to: 'Archived', marks: 'hddaaa', lowest: 'CAN_MANAGE_STAGING_VERSIONS' },
  { from: 'Archived', to: 'Production', marks: 'hdddaa', lowest: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
  { from: 'Production', to: 'None', marks: 'hdddaa', lowest: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
  { from: 'Production', to: 'Staging', marks: 'hdddaa', lowest: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
  { from: 'Production', to: 'Archived', marks: 'hdddaa', lowest: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
  { from: 'Production', to: 'Production', marks: 'hdddaa', lowest: 'CAN_MANAGE_PRODUCTION_VERSIONS' },
];

for (const p of STAGE_PAIRS) {
  ROWS.push({ row: `Transition ${p.from} -> ${p.to}`, ability: { kind: 'transition', from: p.from, to: p.to }, marks: p.marks, lowest: p.lowest });
  ROWS.push({
    row: `Approve or reject a request ${p.from} -> ${p.to}`,
    ability: { kind: 'decide_request', from: p.from, to: p.to },
    marks: p.marks,
    lowest: p.lowest,
  });
}

describe.each(ROWS)('$row', ({ ability, marks, lowest }) => {
  it.each(LEVEL_COLUMNS.map((level, i) => ({ level, expected: MARK[marks[i]!]! })))('$level -> $expected', ({ level, expected }) => {
    expect(decide(level, ability)).toBe(expected);
  });

  it(`lowest level is ${lowest}`, () => {
    expect(requiredLevel(ability)).toBe(lowest);
  });
});

describe('the table is complete', () => {
  it('covers every ability kind and every stage pair in both stage-ruled rows', () => {
    const kinds = new Set(ROWS.map((r) => r.ability.kind));
    expect([...kinds].sort()).toEqual(
      ['add_version', 'cancel_request', 'decide_request', 'delete', 'edit_tags', 'modify_permissions', 'rename', 'request_transition', 'transition', 'update_description'].concat('view').sort(),
    );
    expect(ROWS.filter((r) => r.ability.kind === 'transition')).toHaveLength(16);
    expect(ROWS.filter((r) => r.ability.kind === 'decide_request')).toHaveLength(16);
    for (const r of ROWS) expect(r.marks).toMatch(/^[hda]{6}$/);
  });
});
