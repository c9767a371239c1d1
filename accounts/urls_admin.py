from accounts.views_admin import UserViewSet
from authsvc.routers import Router

router = Router()
router.register("users", UserViewSet, basename="operator-user")

urlpatterns = router.urls
