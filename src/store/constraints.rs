//! What each database rule means to a client: the constraint's name → the field it concerns, a message,
//! and whether breaking it is a conflict with existing data (409) or bad input (422).
//!
//! The service checks input before it reaches the database, with sharper messages; this table is the
//! backstop for the rules only the database can see (uniqueness, overlaps, concurrent writers). A test
//! proves every constraint of the schema is listed here.

/// The meaning of one database rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub field: &'static str,
    pub message: &'static str,
    pub breach: Breach,
}

/// What breaking a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// Bad input (422).
    Invalid,
    /// A conflict with existing data (409).
    Conflict,
    /// The caller may not do this (403): outside the townships of their account.
    Forbidden,
}

const fn bad(field: &'static str, message: &'static str) -> Rule {
    Rule { field, message, breach: Breach::Invalid }
}

const fn taken(field: &'static str, message: &'static str) -> Rule {
    Rule { field, message, breach: Breach::Conflict }
}

const fn refused(field: &'static str, message: &'static str) -> Rule {
    Rule { field, message, breach: Breach::Forbidden }
}

/// Every named rule of the schema (constraints, unique indexes, and the names trigger checks raise).
pub const RULES: &[(&str, Rule)] = &[
    ("inside_district", bad("geometry", "lies outside the district")),
    ("districts_name_check", bad("name", "must have 1 to 100 characters")),
    ("districts_county_code_check", bad("county_code", "must be 6 digits")),
    ("districts_outline_check", bad("outline", "must be a valid, non-empty polygon")),
    ("districts_certificate_prefix_check", bad("certificate_prefix", "must be two capital letters")),
    ("townships_code_check", bad("code", "must be a 9-digit division code")),
    ("townships_name_check", bad("name", "must have 1 to 100 characters")),
    ("townships_kind_check", bad("kind", "must be 街道, 镇 or 乡")),
    ("townships_boundary_check", bad("geometry", "must be a valid, non-empty polygon")),
    ("townships_county_code_fkey", bad("code", "belongs to no known district")),
    ("villages_name_check", bad("name", "must have 1 to 100 characters")),
    ("villages_location_check", bad("geometry", "must be a non-empty point")),
    ("villages_township_code_name_key", taken("name", "the township already has a village of this name")),
    ("villages_township_code_fkey", bad("township_code", "no such township")),
    ("parties_kind_check", bad("kind", "must be person, household, organisation or collective")),
    ("parties_township_code_fkey", bad("township_code", "no such township")),
    ("parties_village_check", bad("village", "must have 1 to 100 characters")),
    ("parties_members_check", bad("members", "must be 1 to 20")),
    ("parties_collective_village", bad("village", "a village collective, and only it, names its township and village")),
    ("parties_household_members", bad("members", "only a household has members whose consent a lease needs")),
    (
        "parties_one_collective_per_village",
        taken("village", "the village already has its collective economic organisation"),
    ),
    ("parties_name_check", bad("name", "must have 1 to 200 characters")),
    ("parties_id_number_check", bad("id_number", "must be 17 digits and a check digit or X")),
    ("parties_credit_code_check", bad("credit_code", "must be an 18-character unified social credit code")),
    ("parties_phone_check", bad("phone", "must be a telephone number")),
    ("parties_address_check", bad("address", "must have at most 300 characters")),
    (
        "parties_identity",
        bad("kind", "an organisation or collective has a credit code; a person or household an ID number"),
    ),
    ("parties_id_number_key", taken("id_number", "another party has this ID number")),
    ("parties_credit_code_key", taken("credit_code", "another party has this credit code")),
    ("parties_owner_kind", bad("kind", "the party owns a house, so it is a person or household")),
    ("users_username_key", taken("username", "this user name is taken")),
    ("users_username_check", bad("username", "must be 3 to 40 lower-case letters, digits, _ . or -")),
    ("users_display_name_check", bad("display_name", "must have at most 100 characters")),
    ("users_role_check", bad("role", "must be investor, officer, official or admin")),
    ("users_password_hash_check", bad("password", "is not stored as an argon2 hash")),
    ("users_party_id_fkey", bad("party_id", "no such party")),
    ("parcels_village_check", bad("properties.village", "must have 1 to 100 characters")),
    ("parcels_parcel_code_check", bad("properties.parcel_code", "is not a 19-character parcel code")),
    ("parcels_land_use_check", bad("properties.land_use", "must be a 4-digit land-use code (GB/T 21010)")),
    ("parcels_boundary_check", bad("geometry", "must be a valid, non-empty polygon")),
    ("parcels_township_in_county", bad("properties.township_code", "is not a township of the parcel's county")),
    ("parcels_parcel_code_key", taken("properties.parcel_code", "a parcel with this code exists")),
    ("parcels_township_code_fkey", bad("properties.township_code", "no such township")),
    ("parcels_no_overlap", taken("geometry", "overlaps another parcel of the township")),
    (
        "parcels_within_township",
        bad("properties.township_code", "the parcel does not lie in this township (10 m tolerance at its border)"),
    ),
    ("parcels_houses_within", taken("geometry", "the boundary would leave a house of the parcel outside it")),
    ("farmhouses_owner_party_id_fkey", bad("properties.owner_party_id", "no such party")),
    ("farmhouses_owner_kind", bad("properties.owner_party_id", "must be a person or household, not an organisation")),
    ("farmhouses_footprint_check", bad("geometry", "must be a valid, non-empty polygon")),
    ("farmhouses_floor_area_m2_check", bad("properties.floor_area_m2", "must be above 0 and below 100000")),
    ("farmhouses_floors_check", bad("properties.floors", "must be 1 to 10")),
    ("farmhouses_year_built_check", bad("properties.year_built", "must be 1900 to 2100")),
    ("farmhouses_structure_check", bad("properties.structure", "must be 砖混, 砖木, 钢混, 木, 土木 or 石木")),
    ("farmhouses_condition_check", bad("properties.condition", "must be 完好, 基本完好, 一般, 破损, 严重损坏 or 危险")),
    ("farmhouses_homestead_title_check", bad("properties.homestead_title", "must be issued, confirmed or unconfirmed")),
    ("farmhouses_ownership_title_check", bad("properties.ownership_title", "must be issued, confirmed or unconfirmed")),
    ("farmhouses_homestead_cert_no_check", bad("properties.homestead_cert_no", "is not a certificate number")),
    ("farmhouses_ownership_cert_no_check", bad("properties.ownership_cert_no", "is not a certificate number")),
    (
        "farmhouses_homestead_certificate",
        bad("properties.homestead_cert_no", "an issued title, and only it, has its certificate number"),
    ),
    (
        "farmhouses_ownership_certificate",
        bad("properties.ownership_cert_no", "an issued title, and only it, has its certificate number"),
    ),
    ("farmhouses_status_check", bad("properties.status", "must be registered, listed, contracted or certified")),
    ("farmhouses_unit_number_check", bad("properties.unit_number", "is not a farmhouse unit number")),
    ("farmhouses_description_check", bad("properties.description", "must have at most 2000 characters")),
    ("farmhouses_unit_number_key", taken("properties.unit_number", "a farmhouse with this unit number exists")),
    ("farmhouses_parcel_code_fkey", bad("properties.unit_number", "no parcel has the code of its first 19 characters")),
    ("farmhouses_township_code_fkey", bad("properties.township_code", "no such township")),
    ("farmhouses_footprint_within_parcel", bad("geometry", "the footprint is not within its parcel")),
    ("farmhouse_photos_width_check", bad("photo", "is wider than 10000 pixels")),
    ("farmhouse_photos_media_type_check", bad("photo", "must be a JPEG or PNG image")),
    ("farmhouse_photos_height_check", bad("photo", "is taller than 10000 pixels")),
    ("farmhouse_photos_sha256_check", bad("photo", "has no digest")),
    ("farmhouse_photos_content_check", bad("photo", "must have 1 byte to 10 MiB")),
    ("farmhouse_photos_caption_check", bad("caption", "must have at most 200 characters")),
    ("farmhouse_photos_farmhouse_id_sha256_key", taken("photo", "the house already has this photo")),
    ("farmhouse_photos_farmhouse_id_fkey", bad("farmhouse_id", "no such farmhouse")),
    (
        "appraisals_report_no_check",
        bad("report_no", "must be 4 to 40 letters, digits, Chinese characters, brackets or dashes"),
    ),
    ("appraisals_firm_check", bad("firm", "must have 1 to 200 characters")),
    ("appraisals_appraiser_check", bad("appraiser", "must have 1 to 100 characters")),
    ("appraisals_method_check", bad("method", "must be 市场比较法, 收益法 or 成本法")),
    ("appraisals_value_fen_check", bad("value_yuan", "cannot be negative")),
    ("appraisals_annual_rent_fen_check", bad("annual_rent_yuan", "cannot be negative")),
    ("appraisals_validity", bad("valid_until", "must be after the valuation date")),
    ("appraisals_report_no_key", taken("report_no", "an appraisal with this report number exists")),
    ("appraisals_farmhouse_id_fkey", bad("farmhouse_id", "no such farmhouse")),
    ("listings_title_check", bad("title", "must have at most 100 characters")),
    ("listings_asking_rent_fen_check", bad("asking_rent_yuan", "cannot be negative")),
    ("listings_min_term_months_check", bad("min_term_months", "must be 1 to 240 months")),
    ("listings_max_term_months_check", bad("max_term_months", "must be 1 to 240 months (20 years)")),
    ("listings_allowed_uses_check", bad("allowed_uses", "must list 1 to 6 of 民宿, 康养, 文创, 电商, 来料加工, 其他")),
    ("listings_status_check", bad("status", "must be open, withdrawn or closed")),
    ("listings_terms", bad("max_term_months", "must not be below min_term_months")),
    ("listings_notice_period", bad("notice_end", "the notice period (公示) lasts at least 7 days")),
    (
        "listings_notice_not_past",
        bad(
            "notice_start",
            "the notice period (公示) starts no earlier than the day it is recorded (Asia/Shanghai); \
             an admin records a listing of the past at POST /api/v1/farmhouses/{id}/listings/historical",
        ),
    ),
    ("listings_historical_reason_check", bad("reason", "must have 1 to 500 characters")),
    ("listings_id_farmhouse_id_key", taken("id", "listing and house do not match")),
    ("listings_farmhouse_id_fkey", bad("farmhouse_id", "no such farmhouse")),
    ("listings_one_open_per_house", taken("farmhouse_id", "the house already has an open listing")),
    ("transactions_mode_check", bad("mode", "must be 协议, 竞价 or 招标")),
    (
        "transactions_contract_no_check",
        bad("contract_no", "must be 4 to 40 letters, digits, Chinese characters, brackets or dashes"),
    ),
    ("transactions_lessor_party_id_fkey", bad("lessor_party_id", "no such party")),
    ("transactions_collective_party_id_fkey", bad("collective_party_id", "no such party")),
    ("transactions_recorded_by_user_id_fkey", bad("recorded_by", "no such user")),
    ("transactions_lessor_kind", bad("lessor_party_id", "the lessor of a farmhouse is a person or household")),
    (
        "transactions_collective_kind",
        bad("collective_party_id", "is not a village collective economic organisation (kind collective)"),
    ),
    ("consents_transaction_id_fkey", bad("transaction_id", "no such transaction")),
    ("consents_kind_check", bad("kind", "must be member, committee or meeting")),
    ("consents_member_name_check", bad("member_name", "must have 1 to 100 characters")),
    ("consents_opinion_check", bad("opinion", "must have at most 1000 characters")),
    ("consents_votes_for_check", bad("votes_for", "cannot be negative")),
    ("consents_votes_against_check", bad("votes_against", "cannot be negative")),
    ("consents_votes_total_check", bad("votes_total", "must be 1 to 100000")),
    ("consents_recorded_by_user_id_fkey", bad("recorded_by", "no such user")),
    ("consents_shape", bad("kind", "a member names who agrees; a committee agrees or not; a meeting has its votes")),
    ("consents_votes", bad("votes_total", "votes for and against are at most all members")),
    ("consents_member_once", taken("member_name", "this member's consent to the deal is recorded")),
    ("papers_farmhouse_id_fkey", bad("farmhouse_id", "no such farmhouse")),
    ("papers_transaction_id_fkey", bad("transaction_id", "no such transaction")),
    (
        "papers_kind_check",
        bad("kind", "must be lease_contract, listing_entrustment, id_copy, appraisal_report or safety_appraisal"),
    ),
    ("papers_safety_grade_check", bad("grade", "must be A, B, C or D")),
    ("papers_media_type_check", bad("file", "must be a PDF, JPEG or PNG file")),
    ("papers_sha256_check", bad("file", "has no digest")),
    ("papers_content_check", bad("file", "must have 1 byte to 10 MiB")),
    ("papers_recorded_by_user_id_fkey", bad("recorded_by", "no such user")),
    ("papers_owner", bad("kind", "a paper belongs to one house or one deal")),
    ("papers_grade", bad("grade", "a safety appraisal, and only it, has a grade")),
    ("papers_of_a_deal", bad("kind", "a lease contract or ID copy belongs to a deal")),
    (
        "listings_safety_grade",
        bad("allowed_uses", "a house graded C or D in its safety appraisal is not listed for 民宿 or 康养"),
    ),
    ("transactions_annual_rent_fen_check", bad("annual_rent_yuan", "cannot be negative")),
    ("transactions_total_amount_fen_check", bad("total_amount_yuan", "cannot be negative")),
    ("transactions_intended_use_check", bad("intended_use", "must be 民宿, 康养, 文创, 电商, 来料加工 or 其他")),
    ("transactions_status_check", bad("status", "must be signed or terminated")),
    ("transactions_ended", bad("terminated_on", "a terminated lease has the day it ended, and only it")),
    ("transactions_term", bad("lease_end", "a lease runs 1 day to 20 years (Civil Code art. 705)")),
    ("transactions_signed_before_start", bad("signed_on", "must not be after the lease start")),
    ("transactions_listing_id_key", taken("listing_id", "the listing already has a transaction")),
    ("transactions_contract_no_key", taken("contract_no", "a transaction with this contract number exists")),
    ("transactions_no_overlap", taken("lease_start", "the house is already leased for part of this period")),
    ("transactions_lessee_party_id_fkey", bad("lessee_party_id", "no such party")),
    ("transactions_listing_id_farmhouse_id_fkey", bad("listing_id", "no such listing of this house")),
    ("certificate_counters_prefix_check", bad("prefix", "must be two capital letters")),
    ("certificate_counters_last_number_check", taken("certificate_no", "the year's certificate numbers are used up")),
    ("certifications_certificate_no_check", bad("certificate_no", "must look like SY-JZ-2020-000123")),
    ("certifications_verification_code_check", bad("verification_code", "must be 8 digits or capitals")),
    ("certifications_revoke_reason_check", bad("reason", "must have 1 to 500 characters")),
    ("certifications_revocation", bad("reason", "a revocation needs a reason")),
    ("certifications_certificate_no_key", taken("certificate_no", "this certificate number is issued")),
    ("certifications_transaction_id_fkey", bad("transaction_id", "no such transaction")),
    ("certifications_officer_user_id_fkey", bad("officer", "no such user")),
    ("certifications_revoked_by_user_id_fkey", bad("officer", "no such user")),
    ("certifications_one_per_transaction", taken("transaction_id", "the transaction is already certified")),
    ("certifications_signed_transaction", taken("transaction_id", "only a signed transaction can be certified")),
    ("certifications_kept", taken("certificate_no", "a certificate is never deleted or changed; it can be revoked")),
    ("certifications_revocation_request", bad("reason", "a request to revoke has its reason and time")),
    ("certifications_revocation_requested_by_user_id_fkey", bad("officer", "no such user")),
    ("certifications_revocation_reason_check", bad("reason", "must have 1 to 500 characters")),
    (
        "certifications_maker_checker",
        taken("officers", "the officer who recorded the deal does not certify it; a second officer does"),
    ),
    (
        "certifications_checklist",
        taken("checklist", "the deal lacks what its certificate needs (GET /api/v1/transactions/{id}/checklist)"),
    ),
    (
        "certifications_two_officers",
        taken("officers", "a certificate is revoked by a second officer after another asked, or by an admin"),
    ),
    ("user_townships_user_id_fkey", bad("user", "no such user")),
    ("user_townships_township_code_fkey", bad("townships", "no such township")),
    ("user_townships_user_id_township_code_key", taken("townships", "the account already has this township")),
    ("user_township_scope", refused("township_code", "is outside the townships of this account")),
    (
        "farmhouses_certified_facts",
        taken(
            "properties",
            "a certificate in force states this fact of the house; correct the certificate \
             (POST /api/v1/certifications/{id}/correction) instead",
        ),
    ),
    ("api_tokens_label_check", bad("label", "must have at most 100 characters")),
    ("api_tokens_secret_sha256_check", bad("token", "is not a token digest")),
    ("api_tokens_secret_sha256_key", taken("token", "this token exists")),
    ("api_tokens_user_id_fkey", bad("user", "no such user")),
    ("interests_contact_phone_check", bad("contact_phone", "must be a telephone number")),
    ("interests_listing_id_fkey", bad("listing", "no such listing")),
    ("interests_message_check", bad("message", "must have at most 1000 characters")),
    ("interests_once", taken("listing", "you have registered interest in this listing already")),
    ("interests_user_id_fkey", bad("user", "no such user")),
    ("login_failures_failures_check", bad("failures", "cannot be negative")),
    ("login_failures_key_check", bad("username", "is too long")),
    ("sessions_expiry", bad("expires_at", "a session ends after it starts")),
    ("sessions_secret_sha256_check", bad("session", "is not a session digest")),
    ("sessions_secret_sha256_key", taken("session", "this session exists")),
    ("sessions_user_id_fkey", bad("user", "no such user")),
    ("imports_kind_check", bad("kind", "must be parcels or farmhouses")),
    ("imports_sha256_check", bad("file", "has no digest")),
    ("imports_file_name_check", bad("file", "the file name must have at most 300 characters")),
    ("imports_crs_check", bad("crs", "must be EPSG:4549, EPSG:4528, EPSG:4490 or EPSG:4326")),
    ("imports_features_check", bad("features", "cannot be negative")),
    ("imports_once", taken("file", "this file has already been imported")),
    ("history_action_check", bad("action", "must be insert, update or delete")),
    ("history_append_only", taken("history", "the history is append-only")),
];

/// The meaning of constraint `name`, if it is one of ours.
pub fn describe(name: &str) -> Option<Rule> {
    RULES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}
