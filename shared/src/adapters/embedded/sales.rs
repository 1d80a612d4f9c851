//! Sales, releases and the ledger in the embedded store, each one transaction.

use super::*;

impl SaleStore for EmbeddedStore {
    async fn sell(&self, sale: &Sale) -> Result<Result<(), SaleRefused>, StoreError> {
        let sale = sale.clone();
        self.commits
            .run(move |txn| {
                // Every check before any write; a refusal drops the transaction unapplied.
                let refused = {
                    let days = txn.open_table(BUYER_DAYS).map_err(unavailable)?;
                    let months = txn.open_table(BUYER_MONTHS).map_err(unavailable)?;
                    let ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                    let claims = txn.open_table(CLAIMS).map_err(unavailable)?;
                    let today = days
                        .get(day_key(&sale.period).as_str())
                        .map_err(unavailable)?
                        .map_or(0, |v| v.value());
                    let spent = Cents(
                        months
                            .get(month_key(&sale.period).as_str())
                            .map_err(unavailable)?
                            .map_or(0, |v| v.value()),
                    );
                    let mut duplicate = false;
                    for key in &sale.contact_keys {
                        if let Some(bytes) = claims.get(key.as_str()).map_err(unavailable)? {
                            let claim: Claim =
                                serde_json::from_slice(bytes.value()).map_err(corrupt)?;
                            duplicate |= sale.blocked_by_claim(&claim.lead_id, claim.until);
                        }
                    }
                    let recorded = ledger
                        .get(ledger_key(&sale.ledger).as_str())
                        .map_err(unavailable)?
                        .is_some();
                    sale.refusal(recorded, today, spent, duplicate)
                };
                if let Some(refused) = refused {
                    return Ok(Err(refused));
                }
                let ledger_line = serde_json::to_vec(&sale.ledger).map_err(corrupt)?;
                let claim = serde_json::to_vec(&Claim {
                    lead_id: sale.record.lead_id.clone(),
                    until: sale.claim_until,
                })
                .map_err(corrupt)?;
                // The first write: nothing below fails but for the store itself.
                if !put_lead_in(txn, &sale.record)? {
                    return Ok(Err(SaleRefused::LeadChanged));
                }
                {
                    adjust_caps_in(txn, &sale.period, true, sale.price.0)?;
                    let mut ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                    ledger
                        .insert(ledger_key(&sale.ledger).as_str(), ledger_line.as_slice())
                        .map_err(unavailable)?;
                    let mut claims = txn.open_table(CLAIMS).map_err(unavailable)?;
                    for key in &sale.contact_keys {
                        claims
                            .insert(key.as_str(), claim.as_slice())
                            .map_err(unavailable)?;
                    }
                }
                count_in(txn, &analytics::ledger_tallies(&sale.ledger))?;
                Ok(Ok(()))
            })
            .await
    }

    async fn release(&self, release: &Release) -> Result<Result<(), SaleRefused>, StoreError> {
        let release = release.clone();
        self.commits
            .run(move |txn| {
                // Every read that can fail on the data before the first write.
                let mut held = Vec::with_capacity(release.contact_keys.len());
                {
                    let ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                    if ledger
                        .get(ledger_key(&release.ledger).as_str())
                        .map_err(unavailable)?
                        .is_some()
                    {
                        return Ok(Err(SaleRefused::LeadChanged));
                    }
                    let claims = txn.open_table(CLAIMS).map_err(unavailable)?;
                    for key in &release.contact_keys {
                        if let Some(bytes) = claims.get(key.as_str()).map_err(unavailable)? {
                            let claim: Claim =
                                serde_json::from_slice(bytes.value()).map_err(corrupt)?;
                            if claim.lead_id == release.record.lead_id {
                                held.push(key.clone());
                            }
                        }
                    }
                }
                let ledger_line = serde_json::to_vec(&release.ledger).map_err(corrupt)?;
                if !put_lead_in(txn, &release.record)? {
                    return Ok(Err(SaleRefused::LeadChanged));
                }
                {
                    adjust_caps_in(txn, &release.period, false, release.price.0)?;
                    let mut ledger = txn.open_table(LEDGER).map_err(unavailable)?;
                    ledger
                        .insert(ledger_key(&release.ledger).as_str(), ledger_line.as_slice())
                        .map_err(unavailable)?;
                    let mut claims = txn.open_table(CLAIMS).map_err(unavailable)?;
                    for key in &held {
                        claims.remove(key.as_str()).map_err(unavailable)?;
                    }
                }
                count_in(txn, &analytics::ledger_tallies(&release.ledger))?;
                Ok(Ok(()))
            })
            .await
    }

    async fn ledger(&self, lead_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        let prefix = format!("{lead_id}|");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(LEDGER).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in table.range(prefix.as_str()..).map_err(unavailable)? {
                let (key, bytes) = entry.map_err(unavailable)?;
                if !key.value().starts_with(prefix.as_str()) {
                    break;
                }
                out.push(serde_json::from_slice(bytes.value()).map_err(corrupt)?);
            }
            Ok(out)
        })
        .await
    }

    async fn contact_claim(
        &self,
        key: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let claim: Option<Claim> = self.read_json(CLAIMS, key.to_owned()).await?;
        Ok(claim.map(|c| (c.lead_id, c.until)))
    }
}
