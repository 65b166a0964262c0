-- Townships and villages carry their names romanised in Hanyu Pinyin (GB/T 16159): the proper name as one
-- word, the generic term (街道, 镇, 乡, 村, 社区) as a second ("Baiguan Jiedao", "Sunjia Cun"), so English
-- readers can say and search them. The service fills the column from `name` in Rust after migrating and
-- whenever it writes places (src/domain/township.rs `romanise`, src/store/townships.rs `romanise_names`);
-- null means not yet romanised.
alter table townships add column name_pinyin text;
alter table villages add column name_pinyin text;
