//! The storage conformance suite on both backends: same cases, same assertions.

mod sqlite {
    prompter_testkit::storage_conformance_suite!(prompter_testkit::fresh_sqlite);
}

mod postgres {
    prompter_testkit::storage_conformance_suite!(
        prompter_testkit::fresh_postgres,
        #[cfg_attr(
            not(prompter_pg),
            ignore = "PostgreSQL not configured: set PROMPTER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )]
    );
}
