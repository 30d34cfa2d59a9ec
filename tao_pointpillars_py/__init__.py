"""PointPillars 3D object detection for lidar point clouds (ROS 2 node and ROS-free core)."""

__version__ = "0.1.0"
