/**
 * @module worker-sql-modules
 * SQL files imported as text by the Worker (wrangler `[[rules]] type = "Text"`): the module's default export is
 * the file's contents.
 */
declare module '*.sql' {
  const text: string;
  export default text;
}
