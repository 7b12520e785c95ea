//! Every documented example of the spec, called through its generated method against a mock
//! WeCom. The tests themselves are generated into `generated/` by `cargo xtask codegen`.

#[rustfmt::skip]
mod generated;
mod support;
