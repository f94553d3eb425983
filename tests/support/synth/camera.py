"""The checkpoint camera's geometry: a pinhole on a gantry, looking down the road."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Camera:
    """A pinhole camera on a gantry, looking down the road through a long lens.

    World: X metres to the right of the camera, U metres above the road, Z
    metres ahead. The lens is long (ANPR cameras use 12-50 mm), so the
    picture covers the road from about 17 m (bottom row) to 48 m (top row)
    and a plate crosses it in 1-2 s at 50-100 km/h.
    """

    width: int
    height: int
    focal: float  # px
    mount_m: float  # camera height above the road
    horizon_y: float  # image row of the horizon (above the picture: negative)

    @classmethod
    def default(cls, width: int, height: int, zoom: float = 1.0) -> Camera:
        """The geometry every synthetic scene uses, scaled to the frame size."""
        focal = 3.9 * width * zoom
        mount = 4.0
        nearest_ground = 17.6 * (height / width) / (720 / 1280)  # m at the bottom row
        return cls(width, height, focal, mount, height - focal * mount / nearest_ground)

    def project(self, x_m: float, u_m: float, z_m: float) -> tuple[float, float]:
        """Image point of world point (X, U, Z)."""
        return (
            self.width / 2 + self.focal * x_m / z_m,
            self.horizon_y + self.focal * (self.mount_m - u_m) / z_m,
        )

    def z_at_row(self, y: float, u_m: float) -> float:
        """Distance at which a point ``u_m`` above the road is on image row ``y``."""
        return self.focal * (self.mount_m - u_m) / max(y - self.horizon_y, 1e-6)
