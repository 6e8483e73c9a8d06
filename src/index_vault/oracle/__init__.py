"""The oracle: its Ape layer (`index_vault.oracle.chain`) deploys feeds and the OracleRouter locally."""
