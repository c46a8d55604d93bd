/** The PostgreSQL schema (namespace) holding the team store's tables, apart from an ERP's own. */
export const DB_SCHEMA = 'anaf_token';
