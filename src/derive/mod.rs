//! Fields derived from the loaded rows: unified accounts ([`account`]) and the date arithmetic
//! behind the risk fields ([`days`]). Family and risk *policy* live in `rules/classify/`.

pub mod account;
pub mod days;
