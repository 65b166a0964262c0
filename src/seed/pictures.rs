//! Pictures for the demo district: each house on the exchange gets a generated photo-like drawing of a
//! Zhejiang farmhouse (white walls, dark tiled roof — 粉墙黛瓦) in its hills, different from house to
//! house but the same on every run (drawn from the house's id).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use image::{ImageEncoder, Rgb, RgbImage};
use imageproc::drawing::{draw_filled_circle_mut, draw_filled_rect_mut, draw_polygon_mut};
use imageproc::point::Point;
use imageproc::rect::Rect;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::store::photos::{self, NewPhoto};

pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 600;

/// What `add_to_listed_houses` did.
#[derive(Debug, Clone, Copy)]
pub struct Pictured {
    pub photos: u64,
    pub elapsed: Duration,
}

/// Gives every house with an open listing and no photo a generated picture (JPEG, 800×600).
pub async fn add_to_listed_houses(pool: &PgPool) -> Result<Pictured> {
    let started = Instant::now();
    let houses: Vec<(i64, i16, String)> = sqlx::query_as(
        "select f.id, f.floors, l.title from farmhouses f join listings l on l.farmhouse_id = f.id and l.status = 'open'
         where not exists (select 1 from farmhouse_photos p where p.farmhouse_id = f.id) order by f.id",
    )
    .fetch_all(pool)
    .await?;
    // Drawing and encoding is CPU work: on the blocking pool, split over the machine's cores.
    let drawn = tokio::task::spawn_blocking(move || -> Result<Vec<(i64, String, Vec<u8>)>> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let per_thread = houses.len().div_ceil(cores).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = houses
                .chunks(per_thread)
                .map(|chunk| {
                    scope.spawn(move || -> Result<Vec<(i64, String, Vec<u8>)>> {
                        chunk
                            .iter()
                            .map(|(id, floors, title)| {
                                let caption =
                                    if title.is_empty() { "外观".to_string() } else { format!("{title} 外观") };
                                Ok((*id, caption, jpeg(&draw(*id as u64, (*floors).clamp(1, 3) as u32))?))
                            })
                            .collect()
                    })
                })
                .collect();
            let mut all = Vec::with_capacity(houses.len());
            for w in workers {
                all.extend(w.join().map_err(|_| anyhow::anyhow!("a drawing thread failed"))??);
            }
            Ok(all)
        })
    })
    .await
    .context("drawing the demo pictures")??;
    let mut tx = crate::store::begin_as(pool, "seed").await?;
    for (house, caption, content) in &drawn {
        let sha = Sha256::digest(content);
        let photo = NewPhoto { media_type: "image/jpeg", width: WIDTH, height: HEIGHT, sha256: &sha, content, caption };
        photos::insert(&mut tx, photos::Subject::House(*house), &photo)
            .await
            .map_err(|e| anyhow::anyhow!("storing a demo picture: {e}"))?;
    }
    tx.commit().await?;
    Ok(Pictured { photos: drawn.len() as u64, elapsed: started.elapsed() })
}

/// `image` as a JPEG of the demo's quality.
pub fn jpeg(image: &RgbImage) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82).encode(
        image.as_raw(),
        image.width(),
        image.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// A farmhouse of `floors` storeys; `seed` varies the light, the hills, the house and its setting.
pub fn draw(seed: u64, floors: u32) -> RgbImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut img = RgbImage::new(WIDTH, HEIGHT);
    let horizon = rng.gen_range(330..380) as u32;

    // Sky: a vertical gradient, bluer or greyer (the Jiangnan haze).
    let haze = rng.gen_range(0.0..0.6f32);
    for y in 0..horizon {
        let t = y as f32 / horizon as f32;
        let blue = [120.0 + 90.0 * t, 170.0 + 60.0 * t, 225.0 + 20.0 * t];
        let grey = [200.0 + 30.0 * t, 205.0 + 30.0 * t, 210.0 + 30.0 * t];
        let c = Rgb(std::array::from_fn(|i| (blue[i] * (1.0 - haze) + grey[i] * haze) as u8));
        for x in 0..WIDTH {
            img.put_pixel(x, y, c);
        }
    }
    // Two ranges of hills, the farther paler.
    for (depth, base) in [(0.0f32, Rgb([128u8, 160, 140])), (1.0, Rgb([76, 122, 84]))] {
        let (amp, freq, phase) =
            (rng.gen_range(30.0..70.0f32), rng.gen_range(0.004..0.012f32), rng.gen_range(0.0..6.3f32));
        let lift = horizon as f32 - 40.0 + depth * 35.0;
        let mut ridge = vec![Point::new(0, horizon as i32 + 5)];
        for x in (0..=WIDTH).step_by(20) {
            let y = lift - amp * (1.0 + (x as f32 * freq + phase).sin()) * 0.8;
            ridge.push(Point::new(x as i32, y as i32));
        }
        ridge.push(Point::new(WIDTH as i32, horizon as i32 + 5));
        draw_polygon_mut(&mut img, &ridge, base);
    }
    // Ground: fields and a path.
    let field = Rgb([rng.gen_range(95..130), rng.gen_range(140..170), rng.gen_range(70..95)]);
    draw_filled_rect_mut(&mut img, Rect::at(0, horizon as i32).of_size(WIDTH, HEIGHT - horizon), field);
    let path = Rgb([178u8, 160, 130]);
    draw_polygon_mut(
        &mut img,
        &[
            Point::new(380, HEIGHT as i32),
            Point::new(520, HEIGHT as i32),
            Point::new(430, horizon as i32 + 70),
            Point::new(400, horizon as i32 + 70),
        ],
        path,
    );

    // The house: white walls, dark grey roof with wide eaves, dark windows in wooden frames.
    let storey = 75u32;
    let (w, h) = (rng.gen_range(280..380u32), storey * floors);
    let left = rng.gen_range(90..(WIDTH - w - 90)) as i32;
    let base = horizon as i32 + 80;
    let top = base - h as i32;
    let wall = Rgb([rng.gen_range(232..248), rng.gen_range(230..244), rng.gen_range(222..236)]);
    draw_filled_rect_mut(&mut img, Rect::at(left, top).of_size(w, h), wall);
    draw_filled_rect_mut(&mut img, Rect::at(left, base - 14).of_size(w, 14), Rgb([150, 150, 145]));
    let roof = Rgb([58u8, 62, 70]);
    let eave = 26;
    let ridge_h = rng.gen_range(50..80);
    draw_polygon_mut(
        &mut img,
        &[
            Point::new(left - eave, top + 8),
            Point::new(left + w as i32 + eave, top + 8),
            Point::new(left + w as i32 - 30, top - ridge_h),
            Point::new(left + 30, top - ridge_h),
        ],
        roof,
    );
    // Horse-head gables (马头墙) on some houses.
    if rng.gen_bool(0.5) {
        for x in [left - 12, left + w as i32 - 18] {
            draw_filled_rect_mut(&mut img, Rect::at(x, top - ridge_h - 18).of_size(30, ridge_h as u32 + 26), wall);
            draw_filled_rect_mut(&mut img, Rect::at(x - 6, top - ridge_h - 26).of_size(42, 10), roof);
        }
    }
    let frame = Rgb([120u8, 82, 50]);
    let glass = Rgb([40u8, 52, 64]);
    for floor in 0..floors {
        let y = base - (floor as i32 + 1) * storey as i32 + 18;
        let windows = w / 90;
        for i in 0..windows {
            let x = left + 25 + i as i32 * ((w as i32 - 50) / windows as i32);
            if floor == 0 && i == windows / 2 {
                // The door.
                draw_filled_rect_mut(&mut img, Rect::at(x, y + 5).of_size(40, storey - 24), frame);
                continue;
            }
            draw_filled_rect_mut(&mut img, Rect::at(x - 3, y - 3).of_size(46, 42), frame);
            draw_filled_rect_mut(&mut img, Rect::at(x, y).of_size(40, 36), glass);
        }
    }
    // A camphor tree beside it.
    let tx = if left > WIDTH as i32 / 2 { left - 60 } else { left + w as i32 + 60 };
    draw_filled_rect_mut(&mut img, Rect::at(tx - 6, base - 90).of_size(12, 90), Rgb([92, 64, 40]));
    for (dx, dy, r) in [(0, -120, 48), (-30, -95, 36), (30, -95, 36)] {
        draw_filled_circle_mut(&mut img, (tx + dx, base + dy), r, Rgb([52, 110, 60]));
    }
    img
}

/// A scanned page standing in for a paper of the demo deals (a contract, an ID copy, a report): a
/// greyish A4-shaped page with a header band and lines of "text", coloured by `kind` (0–4). PNG.
pub fn paper_scan(kind: u8) -> Result<Vec<u8>> {
    let (w, h) = (210u32, 297u32);
    let mut img = RgbImage::from_pixel(w, h, Rgb([246, 244, 238]));
    let band = [[180u8, 40, 40], [40, 90, 160], [90, 90, 90], [40, 130, 80], [170, 110, 30]][usize::from(kind % 5)];
    draw_filled_rect_mut(&mut img, Rect::at(20, 18).of_size(w - 40, 14), Rgb(band));
    let mut rng = ChaCha8Rng::seed_from_u64(u64::from(kind));
    let mut y = 48;
    while y < h as i32 - 40 {
        let len = rng.gen_range(90..(w - 40));
        draw_filled_rect_mut(&mut img, Rect::at(20, y).of_size(len, 3), Rgb([150, 150, 150]));
        y += 11;
    }
    draw_filled_circle_mut(&mut img, (w as i32 - 50, h as i32 - 45), 18, Rgb([200, 60, 60]));
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_the_same_for_a_house_and_differ_between_houses() {
        assert_eq!(draw(7, 2).as_raw(), draw(7, 2).as_raw());
        assert_ne!(draw(7, 2).as_raw(), draw(8, 2).as_raw());
        let bytes = jpeg(&draw(7, 3)).unwrap();
        assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
        assert!(bytes.len() < 120_000, "{} bytes", bytes.len());
    }
}
