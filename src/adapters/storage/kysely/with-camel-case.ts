import {
  CamelCasePlugin,
  DefaultQueryCompiler,
  type Dialect,
  type Kysely,
  type PluginTransformQueryArgs,
  type QueryCompiler,
  type RootOperationNode,
} from 'kysely';
import type { CamelCaseDatabase, Database } from '../schema.js';

/**
 * Kysely's CamelCasePlugin, with its naming rule opened up for raw SQL and its query half moved
 * into the compiler. The stock plugin renames identifiers by copying each query's whole operation
 * tree before it is compiled, which cost about 2 µs a query (+5 % CPU per order in the storage
 * benchmark on SQLite); `snakeCaseIdentifiers` has the compiler write the same snake_case name as
 * it goes, so this plugin keeps only the other half: rows come back with camelCase keys.
 */
class CamelCase extends CamelCasePlugin {
  override transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }

  column(property: string): string {
    return this.snakeCase(property);
  }

  property(column: string): string {
    return this.camelCase(column);
  }
}

/** One instance: its mappings are memoised, and every user maps names the same way. */
const camelCase = new CamelCase();

/** `tenantId` → `tenant_id`: the column CamelCasePlugin writes for a property (for raw SQL). */
export const columnName = (property: string): string => camelCase.column(property);

/** `tenant_id` → `tenantId`: the property CamelCasePlugin reads a column into (for raw SQL). */
export const propertyName = (column: string): string => camelCase.property(column);

/** `compiler`, writing every identifier as CamelCasePlugin would send it (`tenantId` → `tenant_id`). */
function snakeCasing(compiler: QueryCompiler): QueryCompiler {
  if (!(compiler instanceof DefaultQueryCompiler)) throw new Error('snakeCaseIdentifiers needs a Kysely SQL compiler');
  // The dialect's own compiler class (SQLite's, PostgreSQL's), so its quoting rules still apply.
  const Base = compiler.constructor as new () => DefaultQueryCompiler;
  return new (class extends Base {
    // Every identifier — table, column, alias — is written through here, and nothing else is.
    protected override sanitizeIdentifier(identifier: string): string {
      return super.sanitizeIdentifier(columnName(identifier));
    }
  })();
}

/**
 * `dialect` with identifiers written in snake_case, as CamelCasePlugin would write them. Names
 * already in snake_case (the migrations', Kysely's own, raw SQL's) come out unchanged, so one
 * Kysely instance serves the repositories (through `withCamelCase`) and raw SQL alike.
 */
export function snakeCaseIdentifiers(dialect: Dialect): Dialect {
  return {
    createDriver: () => dialect.createDriver(),
    createQueryCompiler: () => snakeCasing(dialect.createQueryCompiler()),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

/**
 * The database as the repositories see it: camelCase table and column names in TypeScript,
 * snake_case in the SQL (written by the compiler of `snakeCaseIdentifiers`, which `db` must use),
 * rows read back with camelCase keys, so they line up with the records of src/ports.
 */
export function withCamelCase(db: Kysely<Database>): Kysely<CamelCaseDatabase> {
  // Names change, tables do not: the cast says in types what the compiler and plugin do at run time.
  return db.withPlugin(camelCase) as unknown as Kysely<CamelCaseDatabase>;
}
