//! Capacity: one client cannot take the whole service. Anonymous pages are small enough to share the
//! database among many callers.

use crate::common;

use crate::common::TestDb;
use farmhouse::domain::roles::Role;

#[tokio::test]
async fn pages_hold_at_most_1000_features_for_the_public_and_investors_and_10000_for_staff() {
    let db = TestDb::demo().await;
    for (role, most) in [(Role::Public, 1000), (Role::Investor, 1000), (Role::Officer, 5000), (Role::Official, 5000)] {
        let api = common::api::Api::new(common::spawn_app_as(db.pool.clone(), role).await);
        let page = api.get("/collections/farmhouses/items?limit=5000").await.expect(200);
        assert_eq!(page.body["numberReturned"], most, "{role}");
        let next = page.body["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap();
        assert!(next["href"].as_str().unwrap().contains(&format!("limit={most}&")), "{role}: {next}");
    }
}
