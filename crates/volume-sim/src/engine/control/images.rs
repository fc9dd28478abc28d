//! Images: read-only copies of a snapshot's data that outlive it, kept in a
//! region of their own choosing (LunaNode's `volume/snapshot-replicate`
//! makes one, in the snapshot's region or another, and `volume/create` with
//! `image` starts a volume from it).
//!
//! An image shares its chunks with the snapshot it came from, copy-on-write,
//! so making one costs O(1) in the data; a volume made from one shares them
//! too until it writes. Images have no lifecycle of their own (they are
//! ready as soon as they exist) and are not counted against a quota.

use std::time::SystemTime;

use volume_core::{
    CreateVolume, Error, RegionId, ResourceKind, Size, SnapshotId, Volume, VolumeSource,
};

use super::super::fault::Fault;
use super::super::store::Image;
use super::artifacts::ArtifactUse;
use super::snapshots::Snapshots;
use super::{Control, Result};

/// An image a tenant holds, as the engine shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeImage {
    /// Its id, minted in the policy's id style.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The region it lives in (volumes made from it are created there).
    pub region: RegionId,
    /// The size of the data, the smallest volume made from it.
    pub size: Size,
    /// The snapshot it was made from (which may since be gone).
    pub source_snapshot: Option<SnapshotId>,
    /// When it was made, on the engine's clock.
    pub created_at: SystemTime,
}

/// One image: whose it is, what is shown, and its bytes.
#[derive(Debug, Clone)]
pub(super) struct ImageRec {
    pub(super) tenant: String,
    pub(super) image: VolumeImage,
    pub(super) data: Image,
}

impl Control {
    /// Makes an image named `name` in `region` from snapshot `snapshot`,
    /// which must be usable as a volume's source (available).
    ///
    /// # Errors
    /// The snapshot is not `tenant`'s or not available, the name is
    /// refused by the policy, or `region` is not one of the engine's.
    pub fn image_from_snapshot(
        &mut self,
        tenant: &str,
        snapshot: &SnapshotId,
        name: &str,
        region: &RegionId,
    ) -> Result<VolumeImage> {
        self.require_snapshots("image_from_snapshot")?;
        self.check_name(name)?;
        if !self.regions.contains(region) {
            return Err(Error::invalid_input(
                "region",
                format!("{region} is not a region of this simulator"),
            ));
        }
        let rec = self.artifact_rec::<Snapshots>(tenant, snapshot)?;
        <Snapshots as super::artifacts::ArtifactKind>::check(
            snapshot.as_str(),
            &rec.resource.state,
            ArtifactUse::Source,
        )?;
        let (data, size) = (rec.data.clone(), rec.resource.size);
        let (seq, id) = self.mint("img");
        let image = VolumeImage {
            id,
            name: name.to_owned(),
            region: region.clone(),
            size,
            source_snapshot: Some(snapshot.clone()),
            created_at: self.clock.system_time(self.clock.now()),
        };
        self.images.insert(
            seq,
            ImageRec {
                tenant: tenant.to_owned(),
                image: image.clone(),
                data,
            },
        );
        Ok(image)
    }

    /// One of `tenant`'s images.
    ///
    /// # Errors
    /// Not found, when `id` is not an image of `tenant`'s.
    pub fn volume_image(&self, tenant: &str, id: &str) -> Result<VolumeImage> {
        self.image_rec(tenant, id).map(|r| r.image.clone())
    }

    /// Every image of `tenant`'s, oldest first.
    pub fn volume_images(&self, tenant: &str) -> Vec<VolumeImage> {
        self.images
            .values()
            .filter(|r| r.tenant == tenant)
            .map(|r| r.image.clone())
            .collect()
    }

    /// Deletes one of `tenant`'s images (volumes made from it keep their
    /// data).
    ///
    /// # Errors
    /// Not found, when `id` is not an image of `tenant`'s.
    pub fn delete_volume_image(&mut self, tenant: &str, id: &str) -> Result<()> {
        self.image_rec(tenant, id)?;
        // The id goes with the record, and the bytes only it held are
        // handed back, as for volumes and artifacts.
        if let Some(rec) = self.seq_of(id).and_then(|seq| self.images.remove(&seq)) {
            self.ids.remove(id);
            let bytes = rec.data.allocated_bytes();
            drop(rec);
            super::super::memory::freed(bytes);
        }
        Ok(())
    }

    /// Creates a volume from image `image`, in the image's region: `req`
    /// says the name, size (at least the image's; the image's when absent),
    /// labels and type, as for an empty volume; its `source` and `region`
    /// must be unset or agree (the image decides both).
    ///
    /// # Errors
    /// The image is not `tenant`'s, `req` names another source or region,
    /// or any refusal of [`create_volume`](Self::create_volume).
    pub fn create_volume_from_image(
        &mut self,
        tenant: &str,
        image: &str,
        req: &CreateVolume,
        fault: Option<&Fault>,
    ) -> Result<Volume> {
        let rec = self.image_rec(tenant, image)?;
        if req.source != VolumeSource::Empty {
            return Err(Error::invalid_input(
                "source",
                "a volume made from an image has no other source",
            ));
        }
        let start = (
            Some(rec.data.clone()),
            Some(rec.image.size),
            Some(rec.image.region.clone()),
        );
        self.create_volume_from(tenant, req, fault, Some(start))
    }

    fn image_rec(&self, tenant: &str, id: &str) -> Result<&ImageRec> {
        self.seq_of(id)
            .and_then(|seq| self.images.get(&seq))
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| Error::not_found(ResourceKind::Other, id))
    }

    fn require_snapshots(&self, operation: &'static str) -> Result<()> {
        if self.policy.snapshots {
            Ok(())
        } else {
            Err(self.unsupported(operation))
        }
    }
}

#[cfg(test)]
mod tests {
    use volume_core::{CreateSnapshot, CreateVolume, RegionId, Size};

    use super::super::EngineConfig;
    use crate::engine::{Engine, Policy};

    fn engine() -> Engine {
        let regions = ["r1", "r2"].map(|r| RegionId::new(r).unwrap()).to_vec();
        Engine::new(EngineConfig {
            policy: Policy::default(),
            regions,
            ..EngineConfig::default()
        })
    }

    #[test]
    fn images_copy_a_snapshot_into_any_region_and_make_volumes() {
        let e = engine();
        let r2 = RegionId::new("r2").unwrap();
        let v = e
            .with(|c| c.create_volume("t", &CreateVolume::new("v", Size::gib(1)), None))
            .unwrap();
        e.write_at("t", &v.id, 100, b"image bytes").unwrap();
        let s = e
            .with(|c| c.create_snapshot("t", &CreateSnapshot::new(v.id.clone(), "s"), None))
            .unwrap();
        let img = e
            .with(|c| c.image_from_snapshot("t", &s.id, "img", &r2))
            .unwrap();
        assert_eq!((img.region.clone(), img.size), (r2.clone(), Size::gib(1)));
        // Another tenant sees nothing; the snapshot may go, the image stays.
        assert!(e.with(|c| c.volume_image("u", &img.id)).is_err());
        e.with(|c| c.delete_snapshot("t", &s.id, None)).unwrap();
        e.run_until_quiet();
        let req = CreateVolume::new("copy", Size::gib(2));
        let copy = e
            .with(|c| c.create_volume_from_image("t", &img.id, &req, None))
            .unwrap();
        assert_eq!((copy.region.clone(), copy.size), (r2, Size::gib(2)));
        let mut buf = [0u8; 11];
        e.read_at("t", &copy.id, 100, &mut buf).unwrap();
        assert_eq!(&buf, b"image bytes");
        // The image's region decides; a smaller size is refused.
        let elsewhere =
            CreateVolume::new("x", Size::gib(1)).with_region(RegionId::new("r1").unwrap());
        assert!(e
            .with(|c| c.create_volume_from_image("t", &img.id, &elsewhere, None))
            .is_err());
        let small = CreateVolume::new("x", Size::gib(0));
        assert!(e
            .with(|c| c.create_volume_from_image("t", &img.id, &small, None))
            .is_err());
        assert_eq!(e.with(|c| c.volume_images("t")).len(), 1);
        e.with(|c| c.delete_volume_image("t", &img.id)).unwrap();
        assert!(e.with(|c| c.volume_images("t")).is_empty());
    }
}
