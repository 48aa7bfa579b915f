import { describe, expect, it } from 'vitest';
import { canonicalArtifactPath } from '../../src/core/artifacts/artifact-path.ts';
import { parseDbfsPath } from '../../src/core/artifacts/dbfs-path.ts';

describe('canonicalArtifactPath', () => {
  it.each([
    ['', ''],
    ['MLmodel', 'MLmodel'],
    ['data/model.pkl', 'data/model.pkl'],
    ['data/', 'data'],
    ['a b', 'a b'],
    ['do..ts.txt', 'do..ts.txt'],
    ['ünïcode/файл', 'ünïcode/файл'],
  ])('%j → %j', (raw, want) => {
    expect(canonicalArtifactPath(raw)).toBe(want);
  });

  // T9 and the refusal list of range-and-signing.md §2.3.
  it.each([
    'dbfs:/databricks/mlflow-registry/1/models/m/MLmodel',
    'DBFS:/databricks/mlflow-registry/1/models/m/MLmodel',
    'dbfs:///x',
    '/dbfs/databricks/mlflow-registry/1/models/m/MLmodel',
    'dbfs/x',
    '/Volumes/c/s/v/f',
    'file:///etc/passwd',
    's3://other-bucket/k',
    's3a://b/k',
    'gs://b/k',
    'wasbs://c@a/k',
    'abfss://c@a/k',
    'hdfs://n/k',
    'runs:/abc/model',
    'models:/other/1',
    'mlflow-artifacts:/x',
    'dbfs%3A%2Fdatabricks',
    '../x',
    'model/../x',
    '%2e%2e/x',
    'model%2Fx',
    'model//MLmodel',
    'model/./MLmodel',
    'model/MLmodel%00',
    'model\\MLmodel',
    'a%252e%252e/b',
    'a%20b',
    '%c0%ae%c0%ae/x',
    'a\u0000b',
    'a#b',
    'a?b',
    'a\uff0fb',
    'trailing./x',
    'trailing /x',
    '/etc/passwd',
    'x'.repeat(1025),
  ])('refuses %j with INVALID_PARAMETER_VALUE naming the supported way', (raw) => {
    try {
      canonicalArtifactPath(raw);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('INVALID_PARAMETER_VALUE');
      expect((e as Error).message).toContain('get-signed-download-uri');
    }
  });
});

describe('parseDbfsPath', () => {
  it('classifies the managed area, case-insensitively, and its root', () => {
    expect(parseDbfsPath('dbfs:/databricks/mlflow-registry/abc/models/m/MLmodel')).toEqual({ area: 'managed', storageId: 'abc', rest: 'models/m/MLmodel' });
    expect(parseDbfsPath('/Databricks/MLflow-Registry/abc')).toEqual({ area: 'managed', storageId: 'abc', rest: '' });
    expect(parseDbfsPath('/databricks/mlflow-registry')).toEqual({ area: 'managed_root' });
    expect(parseDbfsPath('/databricks/mlflow-registry/')).toEqual({ area: 'managed_root' });
  });

  it('folds the repeated slash MLflow sends into the upload area', () => {
    expect(parseDbfsPath('/databricks/mlflow/tmp-external-source//0a1b/model/MLmodel')).toEqual({
      area: 'upload',
      path: '/databricks/mlflow/tmp-external-source/0a1b/model/MLmodel',
    });
  });

  it('refuses traversal and relative paths', () => {
    expect(() => parseDbfsPath('/databricks/mlflow/tmp-external-source/../../mlflow-registry/x')).toThrow();
    expect(() => parseDbfsPath('databricks/x')).toThrow();
    expect(() => parseDbfsPath('/databricks/mlflow-registry/%2e%2e/x')).toThrow();
  });
});
